//! A validated application: the manifest with paths resolved, variables expanded and routes checked.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::manifest::{ComponentDecl, FileMount, Manifest, RouteDecl, VoxToolDecl};
use super::outbound::OutboundPolicy;
use super::routes::{Route, Router};
use super::variables::{AppVariables, ComponentVariables};

/// A host directory made visible, read-only, inside a component.
#[derive(Debug, Clone)]
pub struct Mount {
    pub host: PathBuf,
    pub guest: String,
}

/// One `[component.<id>]`, ready to instantiate.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    pub id: String,
    pub source: PathBuf,
    pub mounts: Vec<Mount>,
    pub environment: BTreeMap<String, String>,
    pub variables: ComponentVariables,
    pub outbound: OutboundPolicy,
    pub instances: InstanceSettings,
}

impl ComponentSpec {
    /// Whether this component runs its wasi:nn build (`App::select_inference` chose it).
    pub fn runs_wasi_nn(&self) -> bool {
        self.instances.wasi_nn_source.as_ref() == Some(&self.source)
    }
}

/// Where components with a wasi:nn build run their models (`vox up --inference`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Inference {
    /// The wasi:nn builds, their graphs on the host's native tract (the default).
    #[default]
    Native,
    /// The portable builds, tract inside the component (what `spin up` runs).
    Wasm,
}

/// What `[component.<id>.tool.vox]` sets for one component's instances; unset, the host's
/// flags decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceSettings {
    /// Requests one instance serves at the same time.
    pub concurrency: Option<usize>,
    /// Most linear memory one instance may hold, in bytes.
    pub max_memory: Option<u64>,
    /// The build whose models run on the host through `wasi:nn` (`tool.vox.wasi_nn_source`).
    pub wasi_nn_source: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    /// Directory holding the manifest; relative paths are resolved against it.
    pub root: PathBuf,
    pub components: BTreeMap<String, ComponentSpec>,
    pub router: Router,
    /// Components triggered only through service chaining.
    pub private: Vec<String>,
}

impl App {
    /// Loads and validates `spin.toml`, taking variable overrides from the process environment.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        Self::load_with_env(path, |k| std::env::var(k).ok())
    }

    pub fn load_with_env(
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let manifest = Manifest::parse(&text)
            .with_context(|| format!("invalid manifest {}", path.display()))?;
        let root = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Self::from_manifest(manifest, root, env)
    }

    pub fn from_manifest(
        manifest: Manifest,
        root: PathBuf,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        match manifest.spin_manifest_version.as_integer() {
            Some(2) => {}
            _ => bail!(
                "spin_manifest_version: expected 2, found {}",
                manifest.spin_manifest_version
            ),
        }
        if let Some(kind) = manifest.trigger.other.keys().next() {
            bail!("trigger.{kind}: only HTTP triggers are supported");
        }
        let vars = AppVariables::resolve(&manifest.variables, env)?;

        let mut components = BTreeMap::new();
        for (id, decl) in &manifest.component {
            let field = format!("component.{id}");
            check_component_id(id).with_context(|| field.clone())?;
            let source = match &decl.source {
                toml::Value::String(s) => root.join(s),
                _ => bail!("{field}.source: only local file paths are supported"),
            };
            let mounts = decl
                .files
                .iter()
                .enumerate()
                .map(|(i, f)| mount(&root, f, &format!("{field}.files[{i}]")))
                .collect::<anyhow::Result<_>>()?;
            let mut hosts = Vec::new();
            for (i, h) in decl
                .allowed_outbound_hosts
                .iter()
                .chain(&decl.allowed_http_hosts)
                .enumerate()
            {
                hosts.push(vars.expand(h, &format!("{field}.allowed_outbound_hosts[{i}]"))?);
            }
            let outbound =
                OutboundPolicy::parse(&hosts, &format!("{field}.allowed_outbound_hosts"))?;
            let variables = ComponentVariables::resolve(&vars, &decl.variables, id)?;
            let instances = instance_settings(&root, decl, &format!("{field}.tool.vox"))?;
            let spec = ComponentSpec {
                id: id.clone(),
                source,
                mounts,
                environment: decl.environment.clone(),
                variables,
                outbound,
                instances,
            };
            components.insert(id.clone(), spec);
        }

        let mut routes = Vec::new();
        let mut private = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        for (i, trigger) in manifest.trigger.http.iter().enumerate() {
            let field = format!("trigger.http[{i}]");
            let component = match &trigger.component {
                toml::Value::String(s) => s.clone(),
                _ => bail!(
                    "{field}.component: inline components are not supported; use a component id"
                ),
            };
            if !components.contains_key(&component) {
                bail!("{field}.component: unknown component {component:?}");
            }
            match &trigger.route {
                RouteDecl::Private { private: true } => private.push(component),
                RouteDecl::Private { private: false } => {
                    bail!("{field}.route: `private = false` is not a route; use a path")
                }
                RouteDecl::Path(raw) => {
                    let route =
                        Route::parse(raw).map_err(|e| anyhow::anyhow!("{field}.route: {e}"))?;
                    if let Some(other) = seen.insert(route.shape(), component.clone()) {
                        bail!(
                            "{field}.route: duplicate route {raw:?} (already used by component {other:?})"
                        );
                    }
                    routes.push((route, component));
                }
            }
        }
        if manifest.trigger.http.is_empty() {
            bail!("trigger.http: the application has no HTTP triggers");
        }

        Ok(Self {
            name: manifest.application.name,
            root,
            components,
            router: Router::new(routes),
            private,
        })
    }

    /// With native inference, every component that names a `wasi_nn_source` runs it in place
    /// of its `source`; one whose wasi:nn build is missing keeps its portable build, which is
    /// returned (with the path it lacked) so the host can say so.
    pub fn select_inference(&mut self, inference: Inference) -> Vec<(String, PathBuf)> {
        let mut missing = Vec::new();
        if inference == Inference::Wasm {
            return missing;
        }
        for (id, spec) in &mut self.components {
            match &spec.instances.wasi_nn_source {
                Some(nn) if nn.is_file() => spec.source = nn.clone(),
                Some(nn) => missing.push((id.clone(), nn.clone())),
                None => {}
            }
        }
        missing
    }

    /// Every component's `source` exists (checked before serving; a source may be a build
    /// output still to be produced when the manifest is read for `vox preinit`).
    pub fn check_sources(&self) -> anyhow::Result<()> {
        for (id, spec) in &self.components {
            if !spec.source.is_file() {
                bail!(
                    "component.{id}.source: file not found: {}",
                    spec.source.display()
                );
            }
        }
        Ok(())
    }

    /// The components a trigger names, public or private: the ones `vox up` runs.
    pub fn triggered(&self) -> BTreeSet<&str> {
        self.router
            .routes()
            .map(|(_, component)| component)
            .chain(self.private.iter().map(String::as_str))
            .collect()
    }
}

fn mount(root: &Path, file: &FileMount, field: &str) -> anyhow::Result<Mount> {
    let (source, guest) = match file {
        FileMount::Placement {
            source,
            destination,
        } => {
            if !destination.starts_with('/') {
                bail!("{field}.destination: {destination:?} must be an absolute path");
            }
            (source.as_str(), destination.clone())
        }
        FileMount::Pattern(p) => {
            if p.contains(['*', '?', '[']) {
                bail!("{field}: glob patterns are not supported; mount a directory");
            }
            (
                p.as_str(),
                format!("/{}", p.trim_start_matches("./").trim_end_matches('/')),
            )
        }
    };
    let host = root.join(source);
    if !host.is_dir() {
        bail!("{field}.source: directory not found: {}", host.display());
    }
    Ok(Mount { host, guest })
}

/// Spin's rule: lowercase kebab-case words of letters and digits.
fn check_component_id(id: &str) -> anyhow::Result<()> {
    let valid = !id.is_empty()
        && id.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && id.starts_with(|c: char| c.is_ascii_lowercase());
    if !valid {
        bail!("invalid component id {id:?}: use lowercase kebab-case, e.g. \"my-component\"");
    }
    Ok(())
}

/// Reads `tool.vox` of a component; other tools' tables are theirs.
fn instance_settings(
    root: &Path,
    decl: &ComponentDecl,
    field: &str,
) -> anyhow::Result<InstanceSettings> {
    let Some(table) = decl.tool.get("vox") else {
        return Ok(InstanceSettings::default());
    };
    let decl: VoxToolDecl = table
        .clone()
        .try_into()
        .map_err(|e| anyhow::anyhow!("{field}: {e}"))?;
    if decl.instance_concurrency == Some(0) {
        bail!("{field}.instance_concurrency: must be at least 1");
    }
    let max_memory = decl
        .max_memory
        .as_ref()
        .map(|v| parse_bytes(v).with_context(|| format!("{field}.max_memory")))
        .transpose()?;
    Ok(InstanceSettings {
        concurrency: decl.instance_concurrency,
        max_memory,
        wasi_nn_source: decl.wasi_nn_source.map(|s| root.join(s)),
    })
}

/// A size in bytes: an integer, or a string of a number and a unit (`B`, `KiB`, `MiB`, `GiB`,
/// or `KB`/`MB`/`GB` in powers of ten).
pub fn parse_bytes(value: &toml::Value) -> anyhow::Result<u64> {
    let text = match value {
        toml::Value::Integer(n) if *n > 0 => return Ok(*n as u64),
        toml::Value::String(s) => s.trim(),
        other => {
            bail!("expected a positive number of bytes or a size such as \"2 GiB\", found {other}")
        }
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("{text:?} is not a size such as \"2 GiB\""))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => bail!("{text:?}: unknown unit {other:?} (B, KiB, MiB, GiB, KB, MB, GB)"),
    };
    let bytes = number * scale as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        bail!("{text:?} is not a positive size");
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes_read_as_people_write_them() {
        let ok = |v: toml::Value| parse_bytes(&v).unwrap();
        assert_eq!(ok(4096.into()), 4096);
        assert_eq!(ok("2 GiB".into()), 2 << 30);
        assert_eq!(ok("512MiB".into()), 512 << 20);
        assert_eq!(ok("1.5 GB".into()), 1_500_000_000);
        for bad in ["", "lots", "2 TiB", "0", "-1 MiB"] {
            assert!(parse_bytes(&bad.into()).is_err(), "{bad:?}");
        }
        assert!(parse_bytes(&0.into()).is_err());
    }
}
