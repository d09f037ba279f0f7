//! `vox-fuzz <target> [--seconds N] [--seed S]`: one fuzz target for longer than `make test`
//! runs it; failing inputs are saved under `fuzz/artifacts/<target>/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vox_fuzz::{alloc, runner, targets};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let usage = "usage: vox-fuzz <audio|multipart|tokenizer|phonemizer> [--seconds N] [--seed S]";
    let Some(name) = args.next() else {
        eprintln!("{usage}");
        return std::process::ExitCode::from(2);
    };
    let (mut seconds, mut seed) = (60u64, 1u64);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (flag.as_str(), value) {
            ("--seconds", Some(v)) => seconds = v,
            ("--seed", Some(v)) => seed = v,
            _ => {
                eprintln!("{usage}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut target = match targets::by_name(&name, &root) {
        Ok(t) => t,
        Err(why) => {
            eprintln!("vox-fuzz: {why}");
            return std::process::ExitCode::from(2);
        }
    };
    let artifacts = root.join("fuzz/artifacts").join(&name);
    let seeds = targets::seeds(&name, &root);
    let hang_dir = artifacts.clone();
    let report = runner::run(
        target.as_mut(),
        &seeds,
        Duration::from_secs(seconds),
        seed,
        move |input| {
            save(&hang_dir, "hang", input);
        },
    );
    println!(
        "{name}: {} inputs from {} seeds in {seconds} s (seed {seed}), peak {} MiB, {} failures",
        report.inputs,
        seeds.len(),
        report.peak_bytes >> 20,
        report.failures.len()
    );
    for f in &report.failures {
        let path = save(&artifacts, "crash", &f.input);
        println!("  {}: {}", path.display(), f.what);
    }
    if report.failures.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Writes `input` as `<dir>/<kind>-<fnv1a hash>` and returns the path.
fn save(dir: &Path, kind: &str, input: &[u8]) -> PathBuf {
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let path = dir.join(format!("{kind}-{hash:016x}"));
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(&path, input);
    path
}
