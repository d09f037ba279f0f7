//! The page at `/` in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven by selenium through `tests/browser_check.py`: loading without console errors, an
//! uploaded file's transcript with word timestamps, speech that plays while it streams, the
//! microphone (Chromium's fake capture device playing a WAV), the round trip, an API error
//! shown as the API's message, a phone-width layout and the API key field.
//! Screenshots of each state land in `target/browser-test/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use vox_app_tests::{API_KEY, app, cache_dir, fixture, keyed_app, run_check, workspace_root};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The venv `make test-deps` fills from tests/requirements-browser.txt.
fn selenium_python() -> PathBuf {
    let python = cache_dir().join("venv-browser/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test-deps` (or `make test`)",
        python.display()
    );
    python
}

/// The fixture as a 16 kHz mono WAV, the form Chromium's fake microphone plays.
fn microphone_wav(dir: &Path) -> PathBuf {
    let audio = vox_audio::decode(&fixture("jfk.flac"), &vox_audio::DecodeOptions::default())
        .expect("decode jfk.flac");
    let path = dir.join("jfk-16k.wav");
    std::fs::write(
        &path,
        vox_audio::encode_wav(&audio.samples, audio.sample_rate, 1),
    )
    .unwrap();
    path
}

#[test]
fn the_page_works_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        eprintln!(
            "skipping the browser test: {CHROMIUM} or {CHROMEDRIVER} is missing \
             (`make test-deps` installs Debian's chromium and chromium-driver)"
        );
        return;
    }
    let python = selenium_python();
    let artefacts = workspace_root().join("target/browser-test");
    std::fs::create_dir_all(&artefacts).unwrap();
    let mic = microphone_wav(&artefacts);
    run_check(
        Command::new(python)
            .arg(workspace_root().join("tests/browser_check.py"))
            .args(["--base-url", &app().url("")])
            .args(["--keyed-base-url", &keyed_app().url("")])
            .args(["--api-key", API_KEY])
            .arg("--audio")
            .arg(workspace_root().join("tests/fixtures/jfk.flac"))
            .arg("--mic-wav")
            .arg(&mic)
            .arg("--artefacts")
            .arg(&artefacts)
            .args(["--chromium", CHROMIUM, "--chromedriver", CHROMEDRIVER]),
        "browser check: ok",
    );
}
