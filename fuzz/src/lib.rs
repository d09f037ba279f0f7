//! Bounded fuzzing of what clients send: every input a target reads must end in a value or a
//! typed error — no panic, no input that runs past [`runner::INPUT_TIME_LIMIT`], no allocation
//! past [`alloc::PEAK_LIMIT`].
//!
//! A stable-toolchain stand-in for cargo-fuzz (which needs nightly): seeds from `corpus/<target>/`
//! are mutated by [`mutate::Mutator`] the way libFuzzer's default mutators do (bit flips, byte
//! and chunk edits, truncation, splicing, interesting integers), from a seed, so a run is
//! reproducible. `make test` runs each target for a few seconds (`tests/smoke.rs`); `vox-fuzz
//! <target> --seconds N` runs one for longer and saves any failing input under `fuzz/artifacts/`.
//! Layers: `alloc` and `mutate` are leaves, `targets` uses the libraries, `runner` uses all three.

pub mod alloc;
pub mod mutate;
pub mod runner;
pub mod targets;
