//! Typed access to a function an instance exports from one of its interfaces, and the one such
//! call the host makes itself: a component's own initialisation (`vox:preinit/init`), which
//! `vox preinit` snapshots and `vox up` runs to warm the wasi:nn graph cache.

use anyhow::Context;
use wasmtime::Store;
use wasmtime::component::{ComponentNamedList, Instance, Lift, TypedFunc};

use super::store::Host;

/// `interface#func`, taking no arguments and returning `R`.
pub fn typed_export<R: Lift + ComponentNamedList + Send + Sync + 'static>(
    store: &mut Store<Host>,
    instance: &Instance,
    interface: &str,
    func: &str,
) -> anyhow::Result<TypedFunc<(), R>> {
    let (_, iface) = instance
        .get_export(&mut *store, None, interface)
        .context("no such interface")?;
    let (_, index) = instance
        .get_export(&mut *store, Some(&iface), func)
        .with_context(|| format!("no function `{func}`"))?;
    instance
        .get_typed_func::<(), R>(&mut *store, index)
        .map_err(anyhow::Error::from)
}

/// The interface a component exports to be initialised ahead of its requests.
pub const INIT_INTERFACE: &str = "vox:preinit/init";
const INIT_FUNC: &str = "initialize";

/// Whether `component` exports [`INIT_INTERFACE`].
pub fn has_init(component: &wasmtime::component::Component) -> bool {
    component.get_export_index(None, INIT_INTERFACE).is_some()
}

/// Calls the instance's `vox:preinit/init#initialize`.
pub async fn initialize(store: &mut Store<Host>, instance: &Instance) -> anyhow::Result<()> {
    let init = typed_export::<(Result<(), String>,)>(store, instance, INIT_INTERFACE, INIT_FUNC)
        .with_context(|| format!("it does not export {INIT_INTERFACE}"))?;
    let (result,) = init
        .call_async(&mut *store, ())
        .await
        .map_err(anyhow::Error::from)
        .context("it trapped while initialising")?;
    result.map_err(|message| anyhow::anyhow!("its initialisation failed: {message}"))
}
