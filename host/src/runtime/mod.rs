//! The running application on wasmtime: one instance pool per component, and calls into them.
//!
//! Inside, dependencies point one way: `dispatch` (the call trait, a leaf) ← `chaining` (the
//! outbound hooks) ← `instances` (the pools) ← this module, which implements the trait;
//! `spin_variables`, `memory` ← `store` ← `instances`; `activity` ← `instances` and this module;
//! `engine`, `cache` and `usage` (what a response reports for the metrics) stand alone;
//! `export` (a component's own exports beyond wasi:http) ← `instances`, and `vox preinit`.

pub mod activity;
pub mod cache;
pub mod chaining;
pub mod cpu;
pub mod dispatch;
pub mod engine;
pub mod export;
pub mod instances;
pub mod memory;
pub mod nn;
pub mod spin_variables;
pub mod store;
mod usage;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use http_body_util::BodyExt;
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime_wasi_http::handler::{ExpirationError, ProxyHandler, TrapOrPanicError};

use self::activity::{ActiveBody, RequestTag};
use self::chaining::OutboundHooks;
pub use self::dispatch::{CallError, Dispatch, Request, Response};
pub use self::instances::InstanceLimits;
use self::instances::{ComponentInstances, Shared};
use self::nn::GraphCache;
use crate::config::App;
use crate::config::routes::{Router, set_spin_headers};
use crate::logging::ComponentLogs;
use crate::metrics::Metrics;

pub struct Runtime {
    components: HashMap<String, ProxyHandler<ComponentInstances>>,
    router: Router,
    request_timeout: Duration,
    next_request: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Runtime {
    /// Builds instance pools for every component an HTTP trigger names.
    pub fn new(
        app: &App,
        engine: &Engine,
        compiled: HashMap<String, Component>,
        limits: InstanceLimits,
        log_dir: &std::path::Path,
        metrics: Arc<Metrics>,
        graphs: Arc<GraphCache>,
    ) -> anyhow::Result<Arc<Self>> {
        let linker = store::linker(engine)?;
        let mut pools = HashMap::new();
        for (id, component) in compiled {
            let spec = app.components[&id].clone();
            let logs = ComponentLogs::open(log_dir, &id)?;
            pools.insert(id, (spec, component, logs));
        }
        let mut failure = None;
        let runtime = Arc::new_cyclic(|weak: &Weak<Runtime>| {
            let dispatch: Weak<dyn Dispatch> = weak.clone();
            let mut components = HashMap::new();
            for (id, (spec, component, logs)) in pools {
                let hooks = OutboundHooks::new(&id, spec.outbound.clone(), dispatch.clone());
                let pool = ComponentInstances::new(
                    spec,
                    component,
                    &linker,
                    limits.clone(),
                    logs,
                    hooks,
                    Shared {
                        metrics: metrics.clone(),
                        graphs: graphs.clone(),
                    },
                );
                match pool {
                    Ok(instances) => {
                        components.insert(id, ProxyHandler::new(instances));
                    }
                    Err(e) => failure = Some(e),
                }
            }
            Runtime {
                components,
                router: app.router.clone(),
                request_timeout: limits.request_timeout,
                next_request: AtomicU64::new(0),
                metrics,
            }
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(runtime),
        }
    }

    /// Prepares the graphs of every component running its wasi:nn build, by running each one's
    /// initialisation once (all at the same time), so the first request finds them ready. A
    /// failure is logged and left to the first request to meet. One log line per component.
    pub async fn warm_graphs(&self) {
        let warming = self.components.iter().filter_map(|(id, handler)| {
            let pool = handler.state();
            pool.loads_graphs().then_some(async move {
                let started = std::time::Instant::now();
                match pool.warm_graphs().await {
                    Ok(()) => tracing::info!(
                        target: "vox",
                        component = %id,
                        ms = started.elapsed().as_millis() as u64,
                        "native inference graphs ready"
                    ),
                    Err(e) => tracing::warn!(
                        target: "vox",
                        component = %id,
                        "native inference graphs not prepared ahead: {e:#}"
                    ),
                }
            })
        });
        futures::future::join_all(warming).await;
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Calls `component` with a request whose `spin-*` headers are already set, and counts
    /// what it answered (the usage headers it sets are read and removed here). The response
    /// body reports its progress to the instance that answered (see `activity`).
    pub async fn call(&self, component: &str, request: Request) -> Result<Response, CallError> {
        let response = self.call_guest(component, request).await?;
        Ok(usage::account(&self.metrics, component, response))
    }

    async fn call_guest(&self, component: &str, request: Request) -> Result<Response, CallError> {
        let handler = self
            .components
            .get(component)
            .ok_or(CallError::UnknownComponent)?;
        let tag = RequestTag::new(self.next_request.fetch_add(1, Ordering::Relaxed));
        let started = std::time::Instant::now();
        match tokio::time::timeout(self.request_timeout, handler.handle(tag.clone(), request)).await
        {
            Err(_elapsed) => Err(CallError::Timeout),
            Ok(Ok(response)) => Ok(response.map(|body| ActiveBody::new(body, tag).boxed_unsync())),
            Ok(Err(e)) if e.is::<ExpirationError>() => Err(CallError::Timeout),
            Ok(Err(_)) if let Some(limit) = tag.cpu_exceeded() => Err(CallError::Failed(format!(
                "its instance used its {} s CPU limit",
                limit.as_secs_f64()
            ))),
            Ok(Err(_)) if tag.memory_refused().is_some() => {
                let (asked, limit) = tag.memory_refused().unwrap_or_default();
                Err(CallError::Failed(format!(
                    "its instance needed {asked} bytes of memory, over its {limit}-byte limit"
                )))
            }
            // The instance's own deadline (the same length) can fire first and end the guest
            // some other way; a failure at the deadline is still the deadline's doing.
            Ok(Err(_)) if started.elapsed() >= self.request_timeout => Err(CallError::Timeout),
            Ok(Err(e)) if e.is::<TrapOrPanicError>() => {
                Err(CallError::Failed("the component trapped".into()))
            }
            Ok(Err(e)) => Err(CallError::Failed(first_line(&e))),
        }
    }
}

impl Dispatch for Runtime {
    /// Routes a request for `http://<component>.spin.internal/...` as Spin does: the
    /// component's own route if it has a public one, else `/...`.
    fn call_chained<'a>(
        &'a self,
        component: &'a str,
        mut request: Request,
    ) -> BoxFuture<'a, Result<Response, CallError>> {
        Box::pin(async move {
            if !self.components.contains_key(component) {
                return Err(CallError::UnknownComponent);
            }
            let routed = self
                .router
                .route_to_component(component, request.uri().path());
            let full_url = request.uri().to_string();
            set_spin_headers(request.headers_mut(), &routed, &full_url, None);
            self.call(component, request).await
        })
    }
}

fn first_line(e: &wasmtime::Error) -> String {
    let text = format!("{e:#}");
    text.lines()
        .next()
        .unwrap_or("component failed")
        .to_string()
}
