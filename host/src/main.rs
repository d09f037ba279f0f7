//! `vox`: command-line entry point of the host.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use vox::logging::LogFormat;
use vox::{Inference, InstanceLimits};

#[derive(Parser)]
#[command(
    name = "vox",
    version,
    about = "Runs a Spin app (spin.toml) on wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the application described by a Spin manifest.
    Up(Box<Up>),
    /// Pre-initialise a component: run its initialisation (models loaded, graphs optimised) in
    /// the environment the manifest gives it, and write a snapshot of the result.
    Preinit(Preinit),
}

// The manifest flag both commands take, as `spin up -f` does.
#[derive(Args)]
struct Manifest {
    /// The Spin manifest of the app.
    #[arg(
        short = 'f',
        long = "from",
        visible_alias = "file",
        default_value = "spin.toml"
    )]
    manifest: PathBuf,
}

#[derive(Parser)]
struct Preinit {
    /// The component (its id in the manifest).
    component: String,
    #[command(flatten)]
    manifest: Manifest,
    /// The component as built, not yet pre-initialised.
    #[arg(long)]
    wasm: PathBuf,
    /// Where to write the snapshot (default: the component's `source` in the manifest).
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
}

/// Defaults come from the host's own (`vox::Config::new`, `InstanceLimits::default()`), so
/// `vox up` without flags and a `Config` built in code behave the same.
#[derive(Parser)]
struct Up {
    #[command(flatten)]
    manifest: Manifest,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value_t = vox::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Largest accepted request body, in bytes (larger ones get 413).
    #[arg(long, default_value_t = vox::DEFAULT_MAX_BODY_SIZE)]
    max_body_size: u64,
    /// Time a request may take to arrive and get response headers (408/504 after), e.g. "300s".
    #[arg(long, default_value_t = Seconds(InstanceLimits::default().request_timeout))]
    request_timeout: Seconds,
    /// How long a streamed response may go without data once its headers are sent, e.g. "120s".
    #[arg(long, default_value_t = Seconds(InstanceLimits::default().stream_idle_timeout))]
    stream_idle_timeout: Seconds,
    /// Requests one instance serves before it is replaced.
    #[arg(long, default_value_t = InstanceLimits::default().max_reuse)]
    max_instance_reuse: usize,
    /// Requests one instance serves concurrently (a component's `tool.vox.instance_concurrency`
    /// overrides it).
    #[arg(long, default_value_t = InstanceLimits::default().max_concurrent)]
    max_instance_concurrency: usize,
    /// Most linear memory one instance may hold, e.g. "2 GiB" (default: wasm32's 4 GiB; a
    /// component's `tool.vox.max_memory` overrides it).
    #[arg(long, value_parser = parse_size)]
    max_instance_memory: Option<u64>,
    /// Most guest CPU one instance may use on its work before it is ended with an error, e.g.
    /// "600s"; "0s" for no limit.
    #[arg(long, default_value_t = Seconds(InstanceLimits::default().max_cpu.unwrap_or_default()))]
    max_instance_cpu: Seconds,
    /// How long an idle instance is kept for reuse, e.g. "1s".
    #[arg(long, default_value_t = Seconds(InstanceLimits::default().idle_timeout))]
    idle_instance_timeout: Seconds,
    /// Instances of one component alive at once.
    #[arg(long, default_value_t = InstanceLimits::default().max_instances)]
    max_instances: usize,
    /// How long in-flight requests may run after SIGINT/SIGTERM, e.g. "30s".
    #[arg(long, default_value_t = Seconds(vox::DEFAULT_SHUTDOWN_GRACE))]
    shutdown_grace: Seconds,
    /// Directory for component stdout/stderr files (default: .spin/logs next to the manifest).
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Compiled-code cache directory (default: $VOX_CACHE_DIR or ~/.cache/vox/compiled).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Do not read or write the compiled-code cache.
    #[arg(long)]
    no_cache: bool,
    /// Host log level (error, warn, info, debug, trace); RUST_LOG also works.
    #[arg(long)]
    log_level: Option<String>,
    /// Host log lines as text or as one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Serve Prometheus metrics at http://<addr>/metrics (port 0 picks one; off by default).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Where models run: `native` runs a component's wasi:nn build (`tool.vox.wasi_nn_source`),
    /// its graphs on the host's tract; `wasm` runs every component's portable `source`.
    #[arg(long, value_enum, default_value_t = Inference::Native)]
    inference: Inference,
    /// Threads native inference's matrix products share across all requests (default: the cores).
    #[arg(long, default_value_t = vox::default_inference_threads())]
    inference_threads: usize,
}

/// A duration flag: any form humantime reads ("300s", "5m", "1h 30m"); shown in seconds.
#[derive(Clone, Copy)]
struct Seconds(Duration);

impl FromStr for Seconds {
    type Err = humantime::DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s).map(Seconds)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.as_secs_f64())
    }
}

fn parse_size(s: &str) -> anyhow::Result<u64> {
    vox::config::parse_bytes(&toml::Value::String(s.to_string()))
}

fn main() -> std::process::ExitCode {
    let command = Cli::parse().command;
    let (log_level, log_format) = match &command {
        Command::Up(up) => (up.log_level.clone(), up.log_format),
        Command::Preinit(_) => (None, LogFormat::Text),
    };
    vox::logging::init(log_level.as_deref(), log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match command {
        Command::Up(up) => runtime.block_on(serve(*up)),
        Command::Preinit(p) => runtime.block_on(preinit(p)),
    };
    match result {
        Ok(()) => {
            // Instances still parked for reuse are simply abandoned.
            runtime.shutdown_timeout(Duration::from_millis(100));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn preinit(p: Preinit) -> anyhow::Result<()> {
    let report = vox::preinit::preinit(
        &p.manifest.manifest,
        &p.component,
        &p.wasm,
        p.output.as_deref(),
    )
    .await?;
    if !report.rebuilt {
        println!(
            "component.{}: {} is up to date",
            p.component,
            report.output.display()
        );
        return Ok(());
    }
    println!(
        "component.{}: pre-initialised in {:.1} s (initialisation {:.1} s): {} ({} MB, from {} MB)",
        p.component,
        report.total.as_secs_f64(),
        report.initialize.as_secs_f64(),
        report.output.display(),
        report.output_bytes / 1_000_000,
        report.input_bytes / 1_000_000,
    );
    Ok(())
}

async fn serve(up: Up) -> anyhow::Result<()> {
    let mut config = vox::Config::new(up.manifest.manifest);
    config.listen = up.listen;
    config.max_body_size = up.max_body_size;
    config.shutdown_grace = up.shutdown_grace.0;
    config.log_dir = up.log_dir;
    config.metrics_listen = up.metrics_listen;
    config.inference = up.inference;
    config.inference_threads = up.inference_threads.max(1);
    config.instances = InstanceLimits {
        max_reuse: up.max_instance_reuse.max(1),
        max_concurrent: up.max_instance_concurrency.max(1),
        idle_timeout: up.idle_instance_timeout.0,
        max_instances: up.max_instances.max(1),
        request_timeout: up.request_timeout.0,
        stream_idle_timeout: up.stream_idle_timeout.0,
        max_memory: up.max_instance_memory,
        max_cpu: (!up.max_instance_cpu.0.is_zero()).then_some(up.max_instance_cpu.0),
    };
    if up.no_cache {
        config.cache_dir = None;
    } else if let Some(dir) = up.cache_dir {
        config.cache_dir = Some(dir);
    }
    let prepared = vox::Prepared::new(&config).await?;
    // The banner goes to stdout in one write so scripts can read the URL reliably.
    print!("{}", prepared.banner()?);
    use std::io::Write;
    std::io::stdout().flush()?;
    prepared.run(vox::shutdown_signal()).await
}
