//! The real Spin CLI for the tests that compare `spin up` with `vox up`: found beside the
//! repository (`../shared/tools/spin.xz`, unpacked once into `target/spin/`) or named by
//! `VOX_SPIN`; where there is none, those tests skip and say why.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::workspace_root;

/// Where a compressed Spin CLI is looked for, relative to the repository.
pub const SPIN_XZ: &str = "../shared/tools/spin.xz";

/// The Spin CLI, or why there is none; looked up once per test binary.
pub fn cli() -> Result<PathBuf, String> {
    static CLI: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CLI.get_or_init(find).clone()
}

fn find() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("VOX_SPIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("VOX_SPIN={} is not a file", path.display()))
        };
    }
    let root = workspace_root();
    let xz = root.join(SPIN_XZ);
    if !xz.is_file() {
        return Err(format!(
            "no Spin CLI: {SPIN_XZ} is not there and VOX_SPIN is not set"
        ));
    }
    let dir = root.join("target/spin");
    let spin = dir.join("spin");
    let fresh = |p: &PathBuf| -> Option<bool> {
        Some(p.metadata().ok()?.modified().ok()? >= xz.metadata().ok()?.modified().ok()?)
    };
    if fresh(&spin) != Some(true) {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // Unpacked beside its final name and renamed, so a binary killed half-way through
        // leaves no truncated `spin` behind.
        let partial = dir.join("spin.partial");
        let out = std::fs::File::create(&partial).map_err(|e| e.to_string())?;
        let status = Command::new("xz")
            .arg("-dc")
            .arg(&xz)
            .stdout(out)
            .status()
            .map_err(|e| format!("xz -dc {SPIN_XZ}: {e} (install xz-utils)"))?;
        if !status.success() {
            return Err(format!("xz -dc {SPIN_XZ} failed: {status}"));
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        std::fs::rename(&partial, &spin).map_err(|e| e.to_string())?;
    }
    let version = Command::new(&spin)
        .arg("--version")
        .output()
        .map_err(|e| format!("{}: {e}", spin.display()))?;
    if !version.status.success() {
        return Err(format!(
            "{} --version failed: {}",
            spin.display(),
            String::from_utf8_lossy(&version.stderr)
        ));
    }
    Ok(spin)
}

/// Prints a measurement or a finding on the terminal, past the test harness's capture.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Says, on the terminal even though the test harness captures test output, that a test
/// did not run and why.
pub fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {reason}");
}
