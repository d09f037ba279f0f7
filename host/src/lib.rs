//! vox: runs a Spin application (`spin.toml`) on wasmtime — routing, service chaining,
//! instance reuse, request limits and a compiled-code cache.

pub mod app;
pub mod cache;
pub mod chaining;
pub mod engine;
pub mod files;
pub mod instances;
pub mod limits;
pub mod logging;
pub mod manifest;
pub mod outbound;
pub mod preinit;
pub mod routes;
pub mod runtime;
pub mod server;
pub mod spin_variables;
pub mod store;
pub mod variables;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;

pub use app::App;
pub use instances::InstanceLimits;
pub use server::{RequestLimits, Server};

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
}

impl Config {
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            instances: InstanceLimits::default(),
            max_body_size: 64 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(30),
            log_dir: None,
            cache_dir: Some(cache::default_dir()),
        }
    }
}

/// A loaded, compiled and bound application, ready to serve.
pub struct Prepared {
    pub app: App,
    pub server: Server,
    pub log_dir: PathBuf,
    _epoch: engine::EpochTicker,
}

impl Prepared {
    /// Loads the manifest, compiles (or loads cached) components in parallel and binds the
    /// listener. Every error here names what is wrong before any request is served.
    pub async fn new(config: &Config) -> anyhow::Result<Self> {
        let app = App::load(&config.manifest)?;
        app.check_sources()?;
        let engine = engine::new_engine()?;
        let compiled = compile_all(&app, &engine, config.cache_dir.clone()).await?;
        let log_dir = config
            .log_dir
            .clone()
            .unwrap_or_else(|| app.root.join(".spin").join("logs"));
        let runtime =
            runtime::Runtime::new(&app, &engine, compiled, config.instances.clone(), &log_dir)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let limits = RequestLimits {
            max_body_size: config.max_body_size,
            request_timeout: config.instances.request_timeout,
        };
        let server = Server::new(listener, runtime, limits, config.shutdown_grace);
        Ok(Self {
            app,
            server,
            log_dir,
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
            let path = route
                .as_str()
                .strip_suffix("/...")
                .unwrap_or(route.as_str());
            let path = if route.as_str() == "/..." { "" } else { path };
            let kind = if route.is_wildcard() {
                " (wildcard)"
            } else {
                ""
            };
            out.push_str(&format!("  {component}: {base}{path}{kind}\n"));
        }
        Ok(out)
    }

    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self { server, _epoch, .. } = self;
        server.run(shutdown).await
    }
}

/// Compiles every component that a trigger names, in parallel, through the cache.
async fn compile_all(
    app: &App,
    engine: &wasmtime::Engine,
    cache_dir: Option<PathBuf>,
) -> anyhow::Result<HashMap<String, wasmtime::component::Component>> {
    let triggered: std::collections::BTreeSet<String> = app
        .router
        .routes()
        .map(|(_, c)| c.to_string())
        .chain(app.private.iter().cloned())
        .collect();
    let cache = cache::CompileCache::new(cache_dir);
    let jobs = triggered.into_iter().map(|id| {
        let engine = engine.clone();
        let cache = cache.clone();
        let source = app.components[&id].source.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let loaded = cache
                .load(&engine, &source)
                .with_context(|| format!("component.{id}.source"));
            (id, loaded, started.elapsed())
        })
    });
    let mut compiled = HashMap::new();
    for job in futures::future::join_all(jobs).await {
        let (id, loaded, took) = job.context("compile task panicked")?;
        let (component, outcome) = loaded?;
        tracing::info!(component = %id, ?outcome, ms = took.as_millis() as u64, "component ready");
        compiled.insert(id, component);
    }
    Ok(compiled)
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
