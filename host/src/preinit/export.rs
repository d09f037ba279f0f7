//! Typed access to a function an instance exports from one of its interfaces.

use anyhow::Context;
use wasmtime::Store;
use wasmtime::component::{ComponentNamedList, Instance, Lift, TypedFunc};

use crate::runtime::store::Host;

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
