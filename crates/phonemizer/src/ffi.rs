//! espeak-ng internals the phonemizer needs beyond the public API of espeak-rs-sys.
//!
//! espeak-ng 1.52 has `TranslateClauseWithTerminator` but not yet the public
//! `espeak_TextToPhonemesWithTerminator` that Piper calls; the static library still exports
//! the internal symbols, so that function is rebuilt in `engine.rs` from these.

use std::ffi::{c_char, c_int, c_void};

unsafe extern "C" {
    /// The main translator, set by selecting a voice.
    pub static mut translator: *mut c_void;
    /// The decoder `TranslateClause*` reads its input from.
    pub static mut p_decoder: *mut espeak_rs_sys::espeak_ng_TEXT_DECODER;

    pub fn TranslateClauseWithTerminator(
        tr: *mut c_void,
        tone_out: *mut c_int,
        voice_change: *mut *mut c_char,
        terminator_out: *mut c_int,
    );
    pub fn GetTranslatedPhonemeString(phoneme_mode: c_int) -> *const c_char;
}

/// wasi-libc has no `tmpnam`; espeak only reaches it when loading sound icons, which phonemizing
/// never does.
#[cfg(target_os = "wasi")]
#[unsafe(no_mangle)]
pub extern "C" fn tmpnam(_buf: *mut c_char) -> *mut c_char {
    std::ptr::null_mut()
}
