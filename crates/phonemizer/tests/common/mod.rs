//! The espeak-ng data the phonemizer's tests read, compiled once per test process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use vox_phonemizer::compile_data;

/// espeak-ng data compiled afresh (≈ 1 s) from the sources of the espeak-rs-sys package in use,
/// once per run; `VOX_ESPEAK_DATA` names a ready directory instead.
pub fn data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("VOX_ESPEAK_DATA") {
            return dir.into();
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("espeak-ng-data");
        compile_data(&espeak_sources(), &dir).expect("compile espeak-ng data");
        dir
    })
}

/// The `espeak-ng` source tree inside the espeak-rs-sys package, as cargo resolved it.
fn espeak_sources() -> PathBuf {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(
            Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
                .join("Cargo.toml"),
        )
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let manifest = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "espeak-rs-sys")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("espeak-rs-sys in the dependency graph");
    Path::new(manifest)
        .parent()
        .expect("package dir")
        .join("espeak-ng")
}
