//! On-disk cache of compiled components, so a restart does not recompile.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::files::{hex, write_atomically};

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

    pub fn load(&self, engine: &Engine, source: &Path) -> anyhow::Result<(Component, Outcome)> {
        let Some(dir) = &self.dir else {
            let wasm = read(source)?;
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
    let modified = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(source.canonicalize()?.as_os_str().as_encoded_bytes());
    h.update(meta.len().to_le_bytes());
    h.update(modified.as_nanos().to_le_bytes());
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
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let mut h = Sha256::new();
    h.update(wasm_sha256.as_bytes());
    h.update(b"\0wasmtime-");
    h.update(WASMTIME_VERSION.as_bytes());
    h.update(engine_hash.finish().to_le_bytes());
    hex(&h.finalize())
}
