//! The running application: one instance pool per component, and calls into them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::handler::{ExpirationError, ProxyHandler, TrapOrPanicError};

use crate::app::App;
use crate::chaining::OutboundHooks;
use crate::instances::{ComponentInstances, InstanceLimits};
use crate::logging::ComponentLogs;
use crate::routes::{Router, set_spin_headers};

pub type Request = http::Request<WasiBody>;
pub type Response = http::Response<WasiBody>;

/// Why a component did not produce a response.
#[derive(Debug)]
pub enum CallError {
    UnknownComponent,
    /// No response headers within the request timeout.
    Timeout,
    /// The guest trapped or failed; only this request is affected.
    Failed(String),
}

pub struct Runtime {
    components: HashMap<String, ProxyHandler<ComponentInstances>>,
    router: Router,
    request_timeout: Duration,
    next_request: AtomicU64,
}

impl Runtime {
    /// Builds instance pools for every component an HTTP trigger names.
    pub fn new(
        app: &App,
        engine: &Engine,
        compiled: HashMap<String, Component>,
        limits: InstanceLimits,
        log_dir: &std::path::Path,
    ) -> anyhow::Result<Arc<Self>> {
        let linker = crate::store::linker(engine)?;
        let mut pools = HashMap::new();
        for (id, component) in compiled {
            let spec = app.components[&id].clone();
            let logs = ComponentLogs::open(log_dir, &id)?;
            pools.insert(id, (spec, component, logs));
        }
        let mut failure = None;
        let runtime = Arc::new_cyclic(|weak: &Weak<Runtime>| {
            let mut components = HashMap::new();
            for (id, (spec, component, logs)) in pools {
                let hooks = OutboundHooks::new(&id, spec.outbound.clone(), weak.clone());
                match ComponentInstances::new(spec, component, &linker, limits.clone(), logs, hooks)
                {
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
            }
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(runtime),
        }
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Calls `component` with a request whose `spin-*` headers are already set.
    pub async fn call(&self, component: &str, request: Request) -> Result<Response, CallError> {
        let handler = self
            .components
            .get(component)
            .ok_or(CallError::UnknownComponent)?;
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        match tokio::time::timeout(self.request_timeout, handler.handle(id, request)).await {
            Err(_elapsed) => Err(CallError::Timeout),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) if e.is::<ExpirationError>() => Err(CallError::Timeout),
            // The instance's own deadline (the same length) can fire first and end the guest
            // some other way; a failure at the deadline is still the deadline's doing.
            Ok(Err(_)) if started.elapsed() >= self.request_timeout => Err(CallError::Timeout),
            Ok(Err(e)) if e.is::<TrapOrPanicError>() => {
                Err(CallError::Failed("the component trapped".into()))
            }
            Ok(Err(e)) => Err(CallError::Failed(first_line(&e))),
        }
    }

    /// Service chaining: routes a request for `http://<component>.spin.internal/...`.
    pub async fn call_chained(
        &self,
        component: &str,
        mut request: Request,
    ) -> Result<Response, CallError> {
        if !self.components.contains_key(component) {
            return Err(CallError::UnknownComponent);
        }
        let routed = self
            .router
            .route_to_component(component, request.uri().path());
        let full_url = request.uri().to_string();
        set_spin_headers(request.headers_mut(), &routed, &full_url, None);
        self.call(component, request).await
    }
}

fn first_line(e: &wasmtime::Error) -> String {
    let text = format!("{e:#}");
    text.lines()
        .next()
        .unwrap_or("component failed")
        .to_string()
}
