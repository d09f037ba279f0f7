//! What the manifest says, validated: components, variables, routes and outbound policies.
//! Plain data, no wasmtime; every other layer of the host reads it.

mod app;
pub mod manifest;
pub mod outbound;
pub mod routes;
pub mod variables;

pub use app::{App, ComponentSpec, Inference, InstanceSettings, Mount, parse_bytes};
