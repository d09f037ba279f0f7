//! vox: runs a Spin application (`spin.toml`) on wasmtime — routing, service chaining,
//! instance reuse, request limits and a compiled-code cache.
//!
//! The modules form layers; each uses only the layers below it:
//!
//! ```text
//!   lib.rs (Config, Prepared)   main.rs (the `vox` command)
//!   server/    the HTTP front door: connections, body limits, host errors, request log
//!   preinit/   `vox preinit`: run a component's initialisation, snapshot it with wizer
//!   runtime/   wasmtime: engine, compile cache, stores, instance pools, service chaining
//!   config/    the manifest, validated: components, variables, routes, outbound policies
//!   files, logging, body, metrics   leaves: atomic writes and file stamps; host and
//!              component logs; metered bodies; the Prometheus metrics
//! ```
//!
//! `server` and `preinit` are side by side: neither uses the other. Inside `runtime`, the
//! hooks behind a component's outgoing HTTP reach other components through the `Dispatch`
//! trait the runtime implements, so nothing below the runtime depends on it.

pub mod body;
pub mod config;
pub mod files;
pub mod logging;
pub mod metrics;
pub mod preinit;
pub mod runtime;
pub mod server;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

pub use config::{App, Inference};
use metrics::Metrics;
pub use runtime::InstanceLimits;
use runtime::cache::{self, CompileCache};
use runtime::engine;
use runtime::nn::GraphCache;
pub use server::{DEFAULT_MAX_BODY_SIZE, RequestLimits, Server};

/// Where `vox up` listens unless told otherwise, as `spin up` does.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 3000));

/// How long in-flight requests may run after SIGINT/SIGTERM unless told otherwise.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Everything `vox up` needs to serve an app.
#[derive(Debug, Clone)]
pub struct Config {
    pub manifest: PathBuf,
    pub listen: SocketAddr,
    pub instances: InstanceLimits,
    pub max_body_size: u64,
    pub shutdown_grace: Duration,
    /// Component stdout/stderr files; default `.spin/logs` next to the manifest.
    pub log_dir: Option<PathBuf>,
    /// Compiled-code cache; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    /// Where the Prometheus scrape endpoint (`GET /metrics`) listens; `None`: not served.
    pub metrics_listen: Option<SocketAddr>,
    /// Whether components with a wasi:nn build run it (their models on native tract).
    pub inference: Inference,
    /// Threads native inference's matrix products share, across all requests.
    pub inference_threads: usize,
}

impl Config {
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            listen: DEFAULT_LISTEN,
            instances: InstanceLimits::default(),
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            log_dir: None,
            cache_dir: Some(cache::default_dir()),
            metrics_listen: None,
            inference: Inference::default(),
            inference_threads: default_inference_threads(),
        }
    }
}

/// Native inference's thread budget unless told otherwise: every core.
pub fn default_inference_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A loaded, compiled and bound application, ready to serve.
pub struct Prepared {
    pub app: App,
    pub server: Server,
    pub log_dir: PathBuf,
    /// The scrape endpoint, when `Config::metrics_listen` asked for one.
    pub metrics: Option<server::MetricsEndpoint>,
    _epoch: engine::EpochTicker,
}

impl Prepared {
    /// Loads the manifest, compiles (or loads cached) components in parallel and binds the
    /// listener. Every error here names what is wrong before any request is served.
    pub async fn new(config: &Config) -> anyhow::Result<Self> {
        let mut app = App::load(&config.manifest)?;
        for (id, missing) in app.select_inference(config.inference) {
            tracing::warn!(
                target: "vox",
                "component {id}: its wasi:nn build {} is not built; running the portable build",
                missing.display()
            );
        }
        app.check_sources()?;
        let engine = engine::new_engine()?;
        let compiled = CompileCache::new(config.cache_dir.clone())
            .load_all(&app, &engine)
            .await?;
        let log_dir = config
            .log_dir
            .clone()
            .unwrap_or_else(|| app.root.join(".spin").join("logs"));
        let metrics = Arc::new(Metrics::new());
        let runtime = runtime::Runtime::new(
            &app,
            &engine,
            compiled,
            config.instances.clone(),
            &log_dir,
            metrics.clone(),
            Arc::new(GraphCache::new(config.inference_threads)),
        )?;
        // A wasi:nn build has no snapshot: without this its first request would prepare its
        // graphs. Before the listener is bound, so "serving" means ready.
        runtime.warm_graphs().await;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let metrics_endpoint = match config.metrics_listen {
            Some(addr) => Some(server::MetricsEndpoint::bind(addr, metrics.clone()).await?),
            None => None,
        };
        let limits = RequestLimits {
            max_body_size: config.max_body_size,
            request_timeout: config.instances.request_timeout,
        };
        let server = Server::new(listener, runtime, limits, config.shutdown_grace, metrics);
        Ok(Self {
            app,
            server,
            log_dir,
            metrics: metrics_endpoint,
            _epoch: engine::EpochTicker::start(&engine),
        })
    }

    /// The banner `spin up` prints: the URL and the publicly reachable routes.
    pub fn banner(&self) -> anyhow::Result<String> {
        let base = format!("http://{}", self.server.local_addr()?);
        let mut out = format!(
            "Logging component stdio to {:?}\n\nServing {base}\nAvailable Routes:\n",
            self.log_dir.display().to_string()
        );
        for (route, component) in self.app.router.routes() {
            let path = route.base();
            let kind = if route.is_wildcard() {
                " (wildcard)"
            } else {
                ""
            };
            out.push_str(&format!("  {component}: {base}{path}{kind}\n"));
        }
        if let Some(metrics) = &self.metrics {
            out.push_str(&format!(
                "Metrics: http://{}/metrics\n",
                metrics.local_addr()?
            ));
        }
        Ok(out)
    }

    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self {
            server,
            metrics,
            _epoch,
            ..
        } = self;
        // The scrape endpoint lives as long as the server; it has nothing to drain.
        let scrape = metrics.map(|m| tokio::spawn(m.run()));
        let served = server.run(shutdown).await;
        if let Some(scrape) = scrape {
            scrape.abort();
        }
        served
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
