//! Compiles espeak-ng's data, every language, for the phonemizer.
//!
//! Usage: `cargo run --release -p vox-phonemizer --example espeak-data -- <espeak-ng sources> <out dir>`,
//! the sources being the `espeak-ng` directory of the espeak-rs-sys package (`models/espeak_data.py`
//! finds it with `cargo metadata`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [sources, out] = args.as_slice() else {
        eprintln!("usage: espeak-data <espeak-ng sources> <out dir>");
        return ExitCode::from(2);
    };
    let dictionaries = match vox_phonemizer::compile_data(sources, out) {
        Ok(dictionaries) => dictionaries,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    // Prove the data loads and speaks.
    match vox_phonemizer::Phonemizer::new(out, "en-us").and_then(|p| p.phonemize("Data ready.")) {
        Ok(sentences) => {
            println!(
                "{}: {} dictionaries; {}",
                out.display(),
                dictionaries.len(),
                sentences[0]
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}
