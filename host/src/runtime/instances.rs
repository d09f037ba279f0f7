//! Instance pools: each component's instances are reused across requests and serve several
//! requests at once, as Spin does for wasi:http@0.3 components.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, GuestTaskId, InstancePre};
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};

use super::activity::{Activity, RequestTag};
use super::chaining::OutboundHooks;
use super::cpu::CpuMeter;
use super::export;
use super::memory::{MemoryLimiter, MemoryReport};
use super::nn::{self, GraphCache};
use super::store::{self, Budget, Host};
use crate::config::ComponentSpec;
use crate::config::variables::ComponentVariables;
use crate::logging::ComponentLogs;
use crate::metrics::Metrics;

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
    /// Once an instance has answered, how long its response streams may sit without data
    /// before it is retired; a stream that keeps flowing may run for as long as it flows.
    pub stream_idle_timeout: Duration,
    /// Most linear memory one instance may hold, in bytes; `None`, wasm32's 4 GiB.
    pub max_memory: Option<u64>,
    /// Most guest CPU one instance may use between idle moments (its request, for one serving
    /// a request at a time) before it is ended; `None`, no limit.
    pub max_cpu: Option<Duration>,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        Self {
            max_reuse: 128,
            max_concurrent: 16,
            idle_timeout: Duration::from_secs(1),
            max_instances: 8,
            request_timeout: Duration::from_secs(300),
            stream_idle_timeout: Duration::from_secs(120),
            max_memory: None,
            // A guard against runaways, not a budget for work: the longest audio asr takes
            // (30 minutes) is transcribed in well under its length in CPU, even with the base model.
            max_cpu: Some(Duration::from_secs(3600)),
        }
    }
}

/// Creates instances of one component for `ProxyHandler`.
pub struct ComponentInstances {
    spec: ComponentSpec,
    component: Component,
    pre: ProxyPre<Host>,
    /// The same, untyped: for calling the component's initialisation (`warm_graphs`).
    instance_pre: InstancePre<Host>,
    limits: InstanceLimits,
    logs: ComponentLogs,
    hooks: OutboundHooks,
    variables: Arc<ComponentVariables>,
    instance_slots: Arc<Semaphore>,
    next_instance: AtomicU64,
    metrics: Arc<Metrics>,
    graphs: Arc<GraphCache>,
}

/// What every component's pools share: the host's metrics and its native inference's graphs.
#[derive(Clone)]
pub struct Shared {
    pub metrics: Arc<Metrics>,
    pub graphs: Arc<GraphCache>,
}

impl ComponentInstances {
    pub fn new(
        spec: ComponentSpec,
        component: Component,
        linker: &wasmtime::component::Linker<Host>,
        limits: InstanceLimits,
        logs: ComponentLogs,
        hooks: OutboundHooks,
        shared: Shared,
    ) -> anyhow::Result<Self> {
        let Shared { metrics, graphs } = shared;
        // `[component.<id>.tool.vox]` settles what the flags leave to each component.
        let mut limits = limits;
        if let Some(concurrency) = spec.instances.concurrency {
            limits.max_concurrent = concurrency;
        }
        if let Some(bytes) = spec.instances.max_memory {
            limits.max_memory = Some(bytes);
        }
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .map_err(|e| anyhow::anyhow!("component.{}: {e:#}", spec.id))?;
        let instance_pre = pre.clone();
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
            instance_pre,
            limits,
            logs,
            hooks,
            next_instance: AtomicU64::new(0),
            metrics,
            graphs,
        })
    }

    /// Whether `warm_graphs` has work: the component runs its wasi:nn build and can be told to
    /// load its models ahead of a request.
    pub fn loads_graphs(&self) -> bool {
        self.spec.runs_wasi_nn() && export::has_init(&self.component)
    }

    /// Runs the component's own initialisation once in a throwaway instance, so the graphs it
    /// loads through wasi:nn are prepared in the shared cache before the first request needs
    /// them (a wasi:nn build has no snapshot: its graphs live in the host). The instance is
    /// dropped; the graphs stay cached.
    pub async fn warm_graphs(&self) -> anyhow::Result<()> {
        let mut store = self.new_store(
            &Activity::new(),
            &Arc::new(MemoryReport::default()),
            &Arc::new(CpuMeter::new(self.limits.max_cpu)),
        )?;
        let instance = self
            .instance_pre
            .instantiate_async(&mut store)
            .await
            .map_err(anyhow::Error::from)?;
        export::initialize(&mut store, &instance).await
    }

    fn new_store(
        &self,
        activity: &Arc<Activity>,
        memory: &Arc<MemoryReport>,
        cpu: &Arc<CpuMeter>,
    ) -> anyhow::Result<Store<Host>> {
        store::new_store(
            self.component.engine(),
            &self.spec,
            &self.logs,
            Box::new(self.hooks.for_instance(activity)),
            self.variables.clone(),
            Budget {
                memory: MemoryLimiter::new(self.limits.max_memory, memory.clone()),
                cpu: cpu.clone(),
            },
            nn::context(&self.graphs, &self.spec.id),
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
        let activity = Activity::new();
        let memory = Arc::new(MemoryReport::default());
        let cpu = Arc::new(CpuMeter::new(self.limits.max_cpu));
        let mut store = self
            .new_store(&activity, &memory, &cpu)
            .map_err(wasmtime::Error::from_anyhow)?;
        let started = Instant::now();
        let proxy = self.pre.instantiate_async(&mut store).await?;
        let took = started.elapsed();
        tracing::debug!(component = %self.spec.id, instance, ms = took.as_millis() as u64, "instantiated");
        self.metrics.instance_started(&self.spec.id, took);
        Ok(Instance {
            store,
            proxy,
            view: wasmtime_wasi_http::WasiHttpView::http,
            expiration: Expiration {
                idle_timeout: self.limits.idle_timeout,
                request_timeout: self.limits.request_timeout,
                stream_idle_timeout: self.limits.stream_idle_timeout,
                activity: activity.clone(),
                cpu: cpu.clone(),
                sleep: Box::pin(tokio::time::sleep(Duration::MAX)),
            },
            state: Worker {
                component: self.spec.id.clone(),
                instance,
                limits: self.limits.clone(),
                metrics: self.metrics.clone(),
                activity,
                memory,
                cpu,
                _slot: slot,
            },
        })
    }
}

/// Retires an instance once idle too long, once its requests have all overrun, or once it has
/// answered and its response streams have stopped moving.
pub struct Expiration {
    idle_timeout: Duration,
    request_timeout: Duration,
    stream_idle_timeout: Duration,
    activity: Arc<Activity>,
    cpu: Arc<CpuMeter>,
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
        let (start, timeout) = match status {
            WorkerStatus::Idle => {
                me.cpu.idle();
                (start, me.idle_timeout)
            }
            WorkerStatus::Requests => (start, me.request_timeout),
            // Every request has its headers; what runs now feeds their bodies.
            WorkerStatus::PostReturn => (start.max(me.activity.last()), me.stream_idle_timeout),
        };
        let Some(deadline) = start.checked_add(timeout) else {
            return Poll::Pending;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if me.sleep.deadline() != deadline {
            me.sleep.as_mut().reset(deadline);
        }
        let expired = me.sleep.as_mut().poll(cx);
        // Ended with work in flight: marked now, before the store (and with it the streams it
        // feeds) is dropped, so those bodies end in an error.
        if expired.is_ready() && status != WorkerStatus::Idle {
            me.activity.end();
        }
        expired
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
    metrics: Arc<Metrics>,
    /// Shared with the instance's [`Expiration`]; handed to each request it takes.
    activity: Arc<Activity>,
    /// What its memory limit refused; handed to each request it takes.
    memory: Arc<MemoryReport>,
    /// The CPU it has used against its limit; handed to each request it takes.
    cpu: Arc<CpuMeter>,
    /// Frees a place in the component's instance budget when the instance is dropped.
    _slot: OwnedSemaphorePermit,
}

impl WorkerState for Worker {
    type StoreData = Host;
    type RequestData = RequestTag;

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
        request: RequestTag,
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync + 'static>> {
        request.taken_by(&self.activity);
        request.watches_memory(&self.memory);
        request.watches_cpu(&self.cpu);
        tracing::trace!(component = %self.component, instance = self.instance, request = request.id, "request accepted");
        Box::pin(tokio::time::sleep(self.limits.request_timeout))
    }

    fn drop(&self, store: Store<Host>, result: wasmtime::Result<()>) {
        if result.is_err() {
            self.activity.end();
        }
        if let Err(e) = result
            && !SHUTTING_DOWN.load(Ordering::Relaxed)
        {
            tracing::warn!(component = %self.component, instance = self.instance, error = %format!("{e:?}").lines().next().unwrap_or(""), "instance failed and was discarded");
        }
        let peak = self.memory.peak();
        tracing::debug!(component = %self.component, instance = self.instance, peak_memory_bytes = peak, "instance retired");
        self.metrics.instance_dropped(&self.component, peak);
        drop(store);
    }
}
