//! Instance pools: each component's instances are reused across requests and serve several
//! requests at once, as Spin does for wasi:http@0.3 components.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, GuestTaskId};
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};

use super::chaining::OutboundHooks;
use super::store::{self, Host};
use crate::config::ComponentSpec;
use crate::config::variables::ComponentVariables;
use crate::logging::ComponentLogs;

/// How instances are reused; defaults follow Spin.
#[derive(Debug, Clone)]
pub struct InstanceLimits {
    /// Requests one instance serves before it is replaced.
    pub max_reuse: usize,
    /// Requests one instance serves at the same time.
    pub max_concurrent: usize,
    /// How long an idle instance is kept for reuse.
    pub idle_timeout: Duration,
    /// Instances of one component alive at once; further requests wait for one to retire.
    pub max_instances: usize,
    /// How long a guest may take to produce response headers.
    pub request_timeout: Duration,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        Self {
            max_reuse: 128,
            max_concurrent: 16,
            idle_timeout: Duration::from_secs(1),
            max_instances: 8,
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// Creates instances of one component for `ProxyHandler`.
pub struct ComponentInstances {
    spec: ComponentSpec,
    component: Component,
    pre: ProxyPre<Host>,
    limits: InstanceLimits,
    logs: ComponentLogs,
    hooks: OutboundHooks,
    variables: Arc<ComponentVariables>,
    instance_slots: Arc<Semaphore>,
    next_instance: AtomicU64,
}

impl ComponentInstances {
    pub fn new(
        spec: ComponentSpec,
        component: Component,
        linker: &wasmtime::component::Linker<Host>,
        limits: InstanceLimits,
        logs: ComponentLogs,
        hooks: OutboundHooks,
    ) -> anyhow::Result<Self> {
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .map_err(|e| anyhow::anyhow!("component.{}: {e:#}", spec.id))?;
        let pre = match wasmtime_wasi_http::p3::bindings::ServicePre::new(pre.clone()) {
            Ok(p3) => ProxyPre::P3(p3),
            Err(_) => ProxyPre::P2(
                wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre).map_err(|e| {
                    anyhow::anyhow!("component.{}: not a wasi:http component: {e:#}", spec.id)
                })?,
            ),
        };
        Ok(Self {
            variables: Arc::new(spec.variables.clone()),
            instance_slots: Arc::new(Semaphore::new(limits.max_instances.max(1))),
            spec,
            component,
            pre,
            limits,
            logs,
            hooks,
            next_instance: AtomicU64::new(0),
        })
    }

    fn new_store(&self) -> anyhow::Result<Store<Host>> {
        store::new_store(
            self.component.engine(),
            &self.spec,
            &self.logs,
            Box::new(self.hooks.clone()),
            self.variables.clone(),
        )
    }
}

impl HandlerState for ComponentInstances {
    type StoreData = Host;
    type WorkerExpiration = Expiration;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<Host, Expiration, Worker>> {
        let slot = self.instance_slots.clone().acquire_owned().await?;
        let instance = self.next_instance.fetch_add(1, Ordering::Relaxed);
        let mut store = self.new_store().map_err(wasmtime::Error::from_anyhow)?;
        let started = Instant::now();
        let proxy = self.pre.instantiate_async(&mut store).await?;
        tracing::debug!(component = %self.spec.id, instance, ms = started.elapsed().as_millis() as u64, "instantiated");
        Ok(Instance {
            store,
            proxy,
            view: wasmtime_wasi_http::WasiHttpView::http,
            expiration: Expiration {
                idle_timeout: self.limits.idle_timeout,
                request_timeout: self.limits.request_timeout,
                sleep: Box::pin(tokio::time::sleep(Duration::MAX)),
            },
            state: Worker {
                component: self.spec.id.clone(),
                instance,
                limits: self.limits.clone(),
                _slot: slot,
            },
        })
    }
}

/// Retires an instance once idle too long, or once its requests have all overrun.
pub struct Expiration {
    idle_timeout: Duration,
    request_timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiration {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let me = self.get_mut();
        let timeout = match status {
            WorkerStatus::Idle => me.idle_timeout,
            WorkerStatus::Requests | WorkerStatus::PostReturn => me.request_timeout,
        };
        let Some(deadline) = start.checked_add(timeout) else {
            return Poll::Pending;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if me.sleep.deadline() != deadline {
            me.sleep.as_mut().reset(deadline);
        }
        me.sleep.as_mut().poll(cx)
    }
}

/// Set once the server has stopped: instances dropped after that are torn down with the
/// process, not failures worth a warning.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

pub fn shutting_down() {
    SHUTTING_DOWN.store(true, Ordering::Relaxed);
}

/// One live instance's bookkeeping.
pub struct Worker {
    component: String,
    instance: u64,
    limits: InstanceLimits,
    /// Frees a place in the component's instance budget when the instance is dropped.
    _slot: OwnedSemaphorePermit,
}

impl WorkerState for Worker {
    type StoreData = Host;
    type RequestData = u64;

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.limits.max_reuse {
            ShouldAccept::Never
        } else if concurrent >= self.limits.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, Host>,
        request: u64,
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync + 'static>> {
        tracing::trace!(component = %self.component, instance = self.instance, request, "request accepted");
        Box::pin(tokio::time::sleep(self.limits.request_timeout))
    }

    fn drop(&self, store: Store<Host>, result: wasmtime::Result<()>) {
        if let Err(e) = result
            && !SHUTTING_DOWN.load(Ordering::Relaxed)
        {
            tracing::warn!(component = %self.component, instance = self.instance, error = %format!("{e:?}").lines().next().unwrap_or(""), "instance failed and was discarded");
        }
        drop(store);
    }
}
