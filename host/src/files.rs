//! Files the host writes and recognises: atomic writes, hex digest names, and a file's stamp,
//! shared by the compile cache and `vox preinit`.

use std::fs::Metadata;
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};

/// Writes `bytes` to a temporary file beside `path`, then renames it into place, so a
/// concurrent reader never sees a half-written file. Creates the parent directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Lower-case hex, as digests are named.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Feeds a file's size and modification time into `h`: how the compile cache and `vox preinit`
/// tell a replaced file from an unchanged one without reading files of hundreds of megabytes.
pub fn hash_stamp(h: &mut Sha256, meta: &Metadata) -> std::io::Result<()> {
    h.update(meta.len().to_le_bytes());
    let modified = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.update(modified.as_nanos().to_le_bytes());
    Ok(())
}
