//! Host logging (tracing to stderr) and per-component stdout/stderr files.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::Context;
use tracing_subscriber::EnvFilter;
use wasmtime_wasi::cli::OutputFile;

/// How host log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `INFO request request_id=… method=POST path=/api/asr … status=200`.
    Text,
    /// One JSON object per line: `{"timestamp","level","fields":{…},"span":{…}}`.
    Json,
}

/// Installs the stderr logger. `level` (or `RUST_LOG`) raises verbosity; by default only
/// vox's own request lines and warnings show, not the runtime's internals.
pub fn init(level: Option<&str>, format: LogFormat) {
    let filter = match level {
        // wasmtime-wasi-nn logs every error it returns to a component (a `load-by-name` that
        // finds nothing among them) with a backtrace; the backend logs its own failures.
        Some(level) => EnvFilter::new(format!(
            "warn,vox={level},wasmtime_wasi_http={level},wasmtime_wasi_nn=off"
        )),
        None => {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("off,vox=info"))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .compact()
            .try_init(),
        // Flattened, so a request line's fields sit at the top level; the current span (the
        // request and its id) rides along for lines logged while a request is handled.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Where a component's stdout and stderr go: `<dir>/<id>_stdout.txt` and `<dir>/<id>_stderr.txt`.
#[derive(Clone)]
pub struct ComponentLogs {
    pub stdout: OutputFile,
    pub stderr: OutputFile,
}

impl ComponentLogs {
    pub fn open(dir: &Path, component: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create log dir {}", dir.display()))?;
        Ok(Self {
            stdout: OutputFile::new(append(&dir.join(format!("{component}_stdout.txt")))?),
            stderr: OutputFile::new(append(&dir.join(format!("{component}_stderr.txt")))?),
        })
    }
}

impl ComponentLogs {
    /// Both streams to this process's stderr (for one-off runs such as `vox preinit`).
    pub fn to_stderr() -> anyhow::Result<Self> {
        use std::os::fd::AsFd;
        let stderr = || -> anyhow::Result<OutputFile> {
            Ok(OutputFile::new(File::from(
                std::io::stderr().as_fd().try_clone_to_owned()?,
            )))
        };
        Ok(Self {
            stdout: stderr()?,
            stderr: stderr()?,
        })
    }
}

fn append(path: &PathBuf) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open log file {}", path.display()))
}
