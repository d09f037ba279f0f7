//! The official `openai` Python SDK, unchanged, against Vox: transcription in every
//! response_format, translation, and streamed speech (`tests/openai_sdk_check.py`).

use std::path::PathBuf;
use std::process::Command;

use vox_app_tests::{app, workspace_root};

/// The SDK version the check is pinned to.
const OPENAI_SDK: &str = "openai==3.51.0";

/// A venv with the pinned SDK, created once and kept in the cache directory.
fn sdk_python() -> PathBuf {
    let cache = std::env::var_os("VOX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/vox"));
    let venv = cache.join("venv-openai-3.51.0");
    let python = venv.join("bin/python");
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                OPENAI_SDK,
            ])
            .status()
            .unwrap();
        assert!(status.success(), "pip install {OPENAI_SDK} failed");
    }
    python
}

#[test]
fn openai_python_sdk_works_unchanged() {
    let python = sdk_python();
    let output = Command::new(python)
        .arg(workspace_root().join("tests/openai_sdk_check.py"))
        .args(["--base-url", &app().url("/v1"), "--audio"])
        .arg(workspace_root().join("tests/fixtures/jfk.flac"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("openai sdk check: ok"), "{stdout}");
}
