//! Every fuzz target for a few seconds (`VOX_FUZZ_SECONDS`, default 4) from a fixed seed: no
//! panic, no hang, bounded memory. `vox-fuzz <target> --seconds N` runs one for longer.

use std::path::Path;
use std::time::Duration;

use vox_fuzz::{alloc, runner, targets};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

fn fuzz(name: &str) {
    let root = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo")).join("..");
    let mut target = match targets::by_name(name, &root) {
        Ok(t) => t,
        Err(why) => {
            eprintln!("skipping fuzz target {name}: {why}");
            return;
        }
    };
    let seconds = std::env::var("VOX_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let seeds = targets::seeds(name, &root);
    assert!(!seeds.is_empty(), "fuzz/corpus/{name} has no seeds");
    let report = runner::run(
        target.as_mut(),
        &seeds,
        Duration::from_secs(seconds),
        1,
        |_| {},
    );
    assert!(
        report.inputs as usize > seeds.len(),
        "{name}: only {} inputs ran",
        report.inputs
    );
    let shown: Vec<String> = report
        .failures
        .iter()
        .take(5)
        .map(|f| {
            format!(
                "{} ({} bytes: {:?}…)",
                f.what,
                f.input.len(),
                &f.input[..f.input.len().min(48)]
            )
        })
        .collect();
    assert!(
        report.failures.is_empty(),
        "{name}: {} of {} inputs failed; first ones:\n{}",
        report.failures.len(),
        report.inputs,
        shown.join("\n")
    );
}

#[test]
fn audio_decoders() {
    fuzz("audio");
}

#[test]
fn multipart() {
    fuzz("multipart");
}

#[test]
fn tokenizer() {
    fuzz("tokenizer");
}

#[test]
fn phonemizer() {
    fuzz("phonemizer");
}
