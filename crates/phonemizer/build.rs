//! Link fix-ups for espeak-ng (built by espeak-rs-sys) on wasm32-wasip2.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("wasi") {
        return;
    }
    // espeak-rs-sys asks for libstdc++ whenever its build script runs on Linux, whatever the target.
    // The phonemizer reaches no C++ (the speech player is switched off), so an empty archive will do.
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    fs::write(out_dir.join("libstdc++.a"), b"!<arch>\n").expect("write empty libstdc++.a");
    println!("cargo:rustc-link-search=native={}", out_dir.display());
}
