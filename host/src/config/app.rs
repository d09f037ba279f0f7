//! A validated application: the manifest with paths resolved, variables expanded and routes checked.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::manifest::{FileMount, Manifest, RouteDecl};
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
            let spec = ComponentSpec {
                id: id.clone(),
                source,
                mounts,
                environment: decl.environment.clone(),
                variables,
                outbound,
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
