//! Wizer's view of an initialised instance: its memories and globals, read through the
//! accessor functions wizer added to the component.

use wasmtime::Store;
use wasmtime::component::{Instance, Lift, WasmList};
use wasmtime_wizer::ComponentInstanceState;

use crate::runtime::export::typed_export;
use crate::runtime::store::Host;

/// Lets wizer read the initialised instance's memories and globals through the accessor
/// functions it added to the component.
pub struct Snapshotting<'a> {
    pub store: &'a mut Store<Host>,
    pub instance: Instance,
}

impl Snapshotting<'_> {
    async fn call<R: Lift + Send + Sync + 'static>(&mut self, interface: &str, func: &str) -> R {
        let f = typed_export::<(R,)>(self.store, &self.instance, interface, func)
            .unwrap_or_else(|e| panic!("wizer accessor {interface}#{func}: {e:#}"));
        f.call_async(&mut *self.store, ())
            .await
            .unwrap_or_else(|e| panic!("wizer accessor {interface}#{func}: {e:#}"))
            .0
    }
}

// Wizer's trait cannot return errors; its accessors exist by construction, so a failure here
// is a bug in the instrumentation, not in the user's component.
impl ComponentInstanceState for Snapshotting<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        let list: WasmList<u8> = self.call(instance, func).await;
        contents(list.as_le_slice(&*self.store));
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func).await
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func).await
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call::<f32>(instance, func).await.to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call::<f64>(instance, func).await.to_bits()
    }
}
