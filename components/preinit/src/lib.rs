//! The export that lets a component be pre-initialised (snapshotted after loading its models)
//! by `vox preinit`, plus what a snapshot must forget about the host that made it.
//!
//! A component implements [`Initialize`] and calls [`export_preinit!`]:
//!
//! ```ignore
//! struct Preinit;
//! impl vox_preinit::Initialize for Preinit {
//!     fn initialize() -> Result<(), String> { /* load models */ Ok(()) }
//! }
//! vox_preinit::export_preinit!(Preinit);
//! ```

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit/preinit.wit",
        world: "preinit",
        pub_export_macro: true,
        export_macro_name: "__export_preinit_world",
        default_bindings_module: "vox_preinit::bindings",
    });
}

/// Runs `future` to completion inside `initialize`, which is synchronous (for example to
/// read a Spin variable).
pub use wit_bindgen::block_on;

/// What `initialize` does for a component.
pub trait Initialize {
    fn initialize() -> Result<(), String>;
}

#[doc(hidden)]
pub struct Export<T>(std::marker::PhantomData<T>);

impl<T: Initialize> bindings::exports::vox::preinit::init::Guest for Export<T> {
    fn initialize() -> Result<(), String> {
        let result = T::initialize();
        forget_host_handles();
        result
    }
}

/// Exports `vox:preinit/init` from this component, implemented by `$ty: Initialize`.
#[macro_export]
macro_rules! export_preinit {
    ($ty:ty) => {
        type __VoxPreinit = $crate::Export<$ty>;
        $crate::bindings::__export_preinit_world!(__VoxPreinit with_types_in $crate::bindings);
    };
}

unsafe extern "C" {
    /// wasi-libc: drops its table of preopened directories so it is read again on next use.
    fn __wasilibc_reset_preopens();
}

/// The snapshot keeps this instance's memory but not the host's handle table: preopened
/// directory handles that wasi-libc cached while loading models would point at nothing in
/// the instances made from it. Forgetting them makes libc ask the new host again.
fn forget_host_handles() {
    // SAFETY: no file is being opened concurrently (components are single-threaded) and the
    // directory handles it forgets are not used again.
    unsafe { __wasilibc_reset_preopens() }
}
