//! What a snapshot was made from: the component, the variables it could read and the files
//! mounted for it. A snapshot whose fingerprint still matches is up to date.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::config::ComponentSpec;
use crate::files::{hash_stamp, hex};

/// Bumped when what `vox preinit` writes changes, so old snapshots are rebuilt.
const FORMAT: &str = "vox-preinit-1 wasmtime-wizer-48.0.8";

pub fn of(wasm: &[u8], spec: &ComponentSpec) -> std::io::Result<String> {
    let mut h = Sha256::new();
    h.update(FORMAT);
    h.update(Sha256::digest(wasm));
    for (name, value) in spec.variables.sorted() {
        field(&mut h, "var", name);
        field(&mut h, "=", value);
    }
    for mount in &spec.mounts {
        field(&mut h, "mount", &mount.guest);
        files(&mut h, &mount.host, &mount.host)?;
    }
    Ok(hex(&h.finalize()))
}

fn field(h: &mut Sha256, tag: &str, value: &str) {
    h.update(tag);
    h.update((value.len() as u64).to_le_bytes());
    h.update(value);
}

/// Each file's path, size and modification time (not its content: the models are
/// hundreds of megabytes and are replaced, not edited in place).
fn files(h: &mut Sha256, root: &Path, dir: &Path) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let meta = std::fs::metadata(&path)?;
        if meta.is_dir() {
            files(h, root, &path)?;
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy();
        field(h, "file", &relative);
        hash_stamp(h, &meta)?;
    }
    Ok(())
}
