//! The one thing an instance's outgoing HTTP needs from the running app: a call into another
//! component. A trait here, in a leaf, implemented by the runtime, so the hooks that make the
//! call never depend on the runtime that owns them (the pattern of wasmtime's `WasiHttpHooks`).

use futures::future::BoxFuture;
use wasmtime_wasi_http::WasiBody;

pub type Request = http::Request<WasiBody>;
pub type Response = http::Response<WasiBody>;

/// Why a component did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no component with that id has a trigger")]
    UnknownComponent,
    /// No response headers within the request timeout.
    #[error("no response headers within the request timeout")]
    Timeout,
    /// The guest trapped or failed; only this request is affected.
    #[error("{0}")]
    Failed(String),
}

/// Calls into the app's components by id.
pub trait Dispatch: Send + Sync {
    /// Service chaining: a request for `http://<component>.spin.internal/...`.
    fn call_chained<'a>(
        &'a self,
        component: &'a str,
        request: Request,
    ) -> BoxFuture<'a, Result<Response, CallError>>;
}
