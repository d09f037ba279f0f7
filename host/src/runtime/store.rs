//! Per-instance store data: WASI, wasi:http, wasi:nn, variables, the outbound hooks it is
//! given, and its memory limit.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};
use wasmtime_wasi_nn::wit::{WasiNnCtx, WasiNnView};

use super::cpu::CpuMeter;
use super::memory::MemoryLimiter;
use super::spin_variables;
use crate::config::ComponentSpec;
use crate::config::variables::ComponentVariables;
use crate::logging::ComponentLogs;

pub struct Host {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub nn: WasiNnCtx,
    pub hooks: Box<dyn WasiHttpHooks>,
    pub variables: Arc<ComponentVariables>,
    pub memory: MemoryLimiter,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut *self.hooks,
        }
    }
}

impl Host {
    pub fn variables(&mut self) -> &ComponentVariables {
        &self.variables
    }

    fn nn(&mut self) -> WasiNnView<'_> {
        WasiNnView::new(&mut self.table, &mut self.nn)
    }
}

/// Links everything spin-sdk 7 components import: WASI p2 (Rust std), WASI p3 and
/// wasi:http@0.3 (spin-sdk), wasi:http@0.2 (for older guests), and spin:variables; and
/// wasi:nn, which only the components built for `vox up` import.
pub fn linker(engine: &wasmtime::Engine) -> anyhow::Result<wasmtime::component::Linker<Host>> {
    let mut linker = wasmtime::component::Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    spin_variables::add_to_linker(&mut linker, Host::variables)?;
    wasmtime_wasi_nn::wit::add_to_linker(&mut linker, Host::nn)?;
    Ok(linker)
}

/// What one instance may spend: linear memory and guest CPU.
pub struct Budget {
    pub memory: MemoryLimiter,
    pub cpu: Arc<CpuMeter>,
}

/// A store for one instance of `spec`: its mounts (read-only), environment, variables, stdio
/// files and wasi:nn. A busy guest yields to the host at every epoch tick, so timers, other
/// requests and timeouts keep running while it computes; each tick is charged to the budget's
/// CPU meter, and one passing its CPU limit, or growing its memory past the budget's, traps.
pub fn new_store(
    engine: &wasmtime::Engine,
    spec: &ComponentSpec,
    logs: &ComponentLogs,
    hooks: Box<dyn WasiHttpHooks>,
    variables: Arc<ComponentVariables>,
    budget: Budget,
    nn: WasiNnCtx,
) -> anyhow::Result<Store<Host>> {
    let Budget { memory, cpu } = budget;
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(logs.stdout.clone()).stderr(logs.stderr.clone());
    for (k, v) in &spec.environment {
        wasi.env(k, v);
    }
    for mount in &spec.mounts {
        wasi.preopened_dir(&mount.host, &mount.guest, FsPerms::ReadOnly)
            .map_err(anyhow::Error::from)
            .map_err(|e| anyhow::anyhow!("cannot mount {}: {e:#}", mount.host.display()))?;
    }
    let host = Host {
        table: ResourceTable::new(),
        wasi: wasi.build(),
        http: WasiHttpCtx::new(),
        nn,
        hooks,
        variables,
        memory,
    };
    let mut store = Store::new(engine, host);
    store.limiter(|host| &mut host.memory);
    // wasmtime bounds what one host call may copy out of the guest (128 MiB by default); a
    // wasi:nn build passes a whole graph in one `load` (a float32 decoder is larger than that),
    // and `vox preinit` reads whole memories back. What a guest can pass is bounded by its
    // memory, which the limiter bounds already.
    store.set_hostcall_fuel(usize::MAX);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| match cpu.tick() {
        Ok(()) => Ok(wasmtime::UpdateDeadline::Yield(1)),
        Err(limit) => Err(wasmtime::format_err!(
            "cpu limit: the instance used its {} s of CPU",
            limit.as_secs_f64()
        )),
    });
    Ok(store)
}
