//! The Spin manifest (version 2) as written on disk: parsing only, no validation.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A parsed `spin.toml`.
#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub spin_manifest_version: toml::Value,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentDecl>,
}

#[derive(Debug, Deserialize)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An application variable: `name = { default = "…" }` or `{ required = true }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    /// Other trigger types are parsed so they can be reported, not run.
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
pub struct HttpTrigger {
    #[serde(default)]
    pub id: Option<String>,
    pub route: RouteDecl,
    pub component: toml::Value,
}

/// `route = "/path"` or `route = { private = true }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RouteDecl {
    Path(String),
    Private { private: bool },
}

#[derive(Debug, Deserialize)]
pub struct ComponentDecl {
    pub source: toml::Value,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub files: Vec<FileMount>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Spin 1 spelling of `allowed_outbound_hosts`; still accepted by Spin.
    #[serde(default)]
    pub allowed_http_hosts: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Build settings are for `spin build`; the host ignores them.
    #[serde(default)]
    pub build: Option<toml::Value>,
    /// Settings for tools other than Spin, `[component.<id>.tool.<tool>]`, which Spin ignores;
    /// `vox up` reads its own, `tool.vox` ([`VoxToolDecl`]).
    #[serde(default)]
    pub tool: BTreeMap<String, toml::Value>,
}

/// `[component.<id>.tool.vox]`: how `vox up` runs this component's instances.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoxToolDecl {
    /// Requests one instance serves at the same time (`--max-instance-concurrency` otherwise).
    #[serde(default)]
    pub instance_concurrency: Option<usize>,
    /// Most linear memory one instance may hold: bytes, or a string such as `"2 GiB"`.
    #[serde(default)]
    pub max_memory: Option<toml::Value>,
    /// The component built to run its models on the host through `wasi:nn`, which `vox up`
    /// serves instead of `source` unless told `--inference wasm` (Spin has no wasi:nn).
    #[serde(default)]
    pub wasi_nn_source: Option<String>,
}

/// `files = ["dir", { source = "dir", destination = "/guest" }]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileMount {
    Pattern(String),
    Placement { source: String, destination: String },
}

impl Manifest {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }
}
