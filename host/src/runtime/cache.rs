//! On-disk cache of compiled components, so a restart does not recompile.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::config::App;
use crate::files::{hash_stamp, hex, write_atomically};

/// Pinned in Cargo.toml; part of the cache key so an upgrade never loads stale code.
const WASMTIME_VERSION: &str = "48.0.8";

/// Where compiled components live: `$VOX_CACHE_DIR`, else `~/.cache/vox/compiled`.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VOX_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("vox").join("compiled")
}

/// Compiles components, reusing earlier compilations found in `dir` (if any).
#[derive(Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

/// Whether a load hit the cache; reported at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Cached,
    Compiled,
}

impl CompileCache {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    /// Compiles (or loads) every component a trigger names, in parallel.
    pub async fn load_all(
        &self,
        app: &App,
        engine: &Engine,
    ) -> anyhow::Result<HashMap<String, Component>> {
        let jobs = app.triggered().into_iter().map(|id| {
            let (cache, engine, id) = (self.clone(), engine.clone(), id.to_string());
            let source = app.components[&id].source.clone();
            tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                let loaded = cache
                    .load(&engine, &id, &source)
                    .with_context(|| format!("component.{id}.source"));
                (id, loaded, started.elapsed())
            })
        });
        let mut compiled = HashMap::new();
        for job in futures::future::join_all(jobs).await {
            let (id, loaded, took) = job.context("compile task panicked")?;
            let (component, outcome) = loaded?;
            tracing::info!(component = %id, ?outcome, ms = took.as_millis() as u64, "component ready");
            compiled.insert(id, component);
        }
        Ok(compiled)
    }

    fn load(
        &self,
        engine: &Engine,
        id: &str,
        source: &Path,
    ) -> anyhow::Result<(Component, Outcome)> {
        let Some(dir) = &self.dir else {
            let wasm = read(source)?;
            tracing::info!(component = %id, mb = wasm.len() >> 20, "compiling (no cache: every start compiles)");
            return Ok((compile(engine, &wasm, source)?, Outcome::Compiled));
        };
        // A pre-initialised component is hundreds of MB: hashing it on every start would cost
        // more than loading its compiled code, so its hash is remembered per path, size and mtime.
        let remembered = dir.join("sources").join(source_key(source)?);
        if let Some(sha) = std::fs::read_to_string(&remembered).ok()
            && let Some(component) = cached(
                engine,
                &dir.join(format!("{}.cwasm", key(engine, sha.trim()))),
            )
        {
            return Ok((component, Outcome::Cached));
        }
        let wasm = read(source)?;
        let sha = hex(&Sha256::digest(&wasm));
        if let Err(e) = write_atomically(&remembered, sha.as_bytes()) {
            tracing::warn!(path = %remembered.display(), error = %e, "cannot remember a component's hash");
        }
        let path = dir.join(format!("{}.cwasm", key(engine, &sha)));
        if let Some(component) = cached(engine, &path) {
            return Ok((component, Outcome::Cached));
        }
        // Tens of seconds for a large component, once per build: say so before the wait.
        tracing::info!(component = %id, mb = wasm.len() >> 20, "compiling: the first start of this build; later starts load it from the cache");
        let component = compile(engine, &wasm, source)?;
        if let Err(e) = store(&path, &component) {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache compiled component");
        }
        Ok((component, Outcome::Compiled))
    }
}

fn read(source: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(source).with_context(|| format!("cannot read {}", source.display()))
}

/// The compiled component at `path`, if there is a usable one.
fn cached(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.is_file() {
        return None;
    }
    // SAFETY: the file was written by `Component::serialize` for this engine configuration
    // (its name is keyed by the engine's compatibility hash), and wasmtime re-checks
    // compatibility when loading it.
    match unsafe { Component::deserialize_file(engine, path) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring unusable compiled component");
            None
        }
    }
}

/// Names a source file as it is now: its absolute path, size and modification time.
fn source_key(source: &Path) -> anyhow::Result<String> {
    let meta =
        std::fs::metadata(source).with_context(|| format!("cannot read {}", source.display()))?;
    let mut h = Sha256::new();
    h.update(source.canonicalize()?.as_os_str().as_encoded_bytes());
    hash_stamp(&mut h, &meta)?;
    Ok(hex(&h.finalize()))
}

fn compile(engine: &Engine, wasm: &[u8], source: &Path) -> anyhow::Result<Component> {
    Component::new(engine, wasm)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile {}", source.display()))
}

fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    write_atomically(path, &bytes)
}

/// The wasm's sha256 plus everything that makes compiled code engine-specific.
fn key(engine: &Engine, wasm_sha256: &str) -> String {
    let mut h = Sha256::new();
    h.update(wasm_sha256.as_bytes());
    h.update(b"\0wasmtime-");
    h.update(WASMTIME_VERSION.as_bytes());
    // The engine's settings as wasmtime hashes them, fed to sha256 rather than to
    // `DefaultHasher`, whose output may change between Rust releases.
    engine
        .precompile_compatibility_hash()
        .hash(&mut Sha256Hasher(&mut h));
    hex(&h.finalize())
}

/// Lets a `Hash` value write its bytes into a sha256.
struct Sha256Hasher<'a>(&'a mut Sha256);

impl Hasher for Sha256Hasher<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Not a digest: `Hash` implementations only write, and the key reads the sha256 itself.
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("a sha256 has 32 bytes"))
    }
}
