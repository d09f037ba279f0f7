//! Compiling espeak-ng's data, every language, from the espeak-ng sources that espeak-rs-sys
//! ships, so the data always matches the library's version.

use std::ffi::{CString, c_char};
use std::fs;
use std::path::Path;
use std::ptr;

use espeak_rs_sys as sys;

use crate::engine::{self, Engine};
use crate::error::Error;

/// Directories of `espeak-ng-data` copied as they are, as espeak-ng's `cmake/data.cmake` does:
/// the language definitions (`lang/<family>/<voice>`, what `espeak.voice` names) and the voice
/// variants (`voices/!v`, selected with `voice+variant`). MBROLA voices are not copied: the
/// library is built without MBROLA.
const COPIED: &[&str] = &["lang", "voices/!v"];

/// Builds an `espeak-ng-data` directory at `data_dir` from the espeak-ng source tree at `source`
/// (the `espeak-ng` directory inside the espeak-rs-sys package): phoneme tables, intonations,
/// the dictionary of every language in `dictsource` (each `<lang>_rules` with its `_list`,
/// `_listx`, `_emoji` and `_extra`, as espeak-ng's own build compiles them) and every voice,
/// ≈ 8 MB (≈ 3.7 MB gzipped), returning the names of the dictionaries compiled.
///
/// The extended Mandarin, Cantonese and Russian word lists (`dictsource/extra`, which espeak-ng's
/// build adds when present) are not in the espeak-rs-sys package, so those three dictionaries are
/// espeak's base ones.
///
/// espeak's global state is used for compiling, so this must run before any [`crate::Phonemizer`]
/// is made in this process. espeak notes on stderr, for each dictionary it is about to compile,
/// that it cannot be read yet.
pub fn compile_data(source: &Path, data_dir: &Path) -> Result<Vec<String>, Error> {
    let fail = |what: &str, message: String| Error::Compile(format!("{what}: {message}"));
    let mut engine = Engine::lock();
    if let Some(loaded) = engine.data_dir() {
        return Err(Error::DataDirInUse(loaded.to_owned()));
    }
    let data_src = source.join("espeak-ng-data");
    for dir in COPIED {
        copy_tree(&data_src.join(dir), &data_dir.join(dir))
            .map_err(|e| fail(&format!("copying {dir}"), e.to_string()))?;
    }
    let dictionaries = dictionary_names(&source.join("dictsource"))
        .map_err(|e| fail("reading dictsource", e.to_string()))?;

    let c_path =
        |path: &Path| CString::new(path.to_string_lossy().as_bytes()).expect("path without NUL");
    let data = engine::data_path(data_dir)?;
    // Intonations are read from `<source_path>/../phsource/intonation`.
    let espeak_data_src = c_path(&data_src);
    let phonemes_src = c_path(&source.join("phsource"));
    // The dictionary compiler joins this prefix and `<name>_rules` with no separator.
    let dict_src =
        CString::new(format!("{}/", source.join("dictsource").display())).expect("no NUL");
    unsafe {
        sys::espeak_ng_InitializePath(data.as_ptr());
        let mut context: sys::espeak_ng_ERROR_CONTEXT = ptr::null_mut();
        let result = engine::check(sys::espeak_ng_CompileIntonationPath(
            espeak_data_src.as_ptr(),
            data.as_ptr(),
            quiet_log(), // closed by espeak on errors only: one FILE may leak
            &mut context,
        ))
        .map_err(|m| fail("intonations", m))
        .and_then(|()| {
            engine::check(sys::espeak_ng_CompilePhonemeDataPath(
                22050,
                phonemes_src.as_ptr(),
                data.as_ptr(),
                quiet_log(), // closed by espeak
                &mut context,
            ))
            .map_err(|m| fail("phonemes", m))
        })
        .and_then(|()| {
            engine::check(sys::espeak_ng_Initialize(&mut context))
                .map_err(|m| fail("loading phonemes", m))
        });
        sys::espeak_ng_ClearErrorContext(&mut context);
        result?;
        for name in &dictionaries {
            let voice = CString::new(name.as_str()).expect("no NUL");
            // As `espeak-ng --compile=<name>` does: the voice of that name, else one speaking that
            // language ("no" is the voice "nb"), gives the translator and phoneme table. Selecting
            // it reports the dictionary missing, after loading both.
            if sys::espeak_ng_SetVoiceByName(voice.as_ptr()) != sys::espeak_ng_STATUS_ENS_OK {
                let mut select: sys::espeak_VOICE = std::mem::zeroed();
                select.languages = voice.as_ptr();
                sys::espeak_ng_SetVoiceByProperties(&mut select);
            }
            let log = quiet_log();
            let status = sys::espeak_ng_CompileDictionary(
                dict_src.as_ptr(),
                voice.as_ptr(),
                log,
                0,
                &mut context,
            );
            if !log.is_null() {
                fclose(log);
            }
            sys::espeak_ng_ClearErrorContext(&mut context);
            engine::check(status).map_err(|m| fail(&format!("{name} dictionary"), m))?;
        }
    }
    // Only the compiler's own report; espeak never reads it.
    let _ = fs::remove_file(data_dir.join("phondata-manifest"));
    // The compiler leaves espeak half set up on this data; the next Phonemizer starts afresh.
    engine.forget();
    Ok(dictionaries)
}

/// The languages with a dictionary source (`<name>_rules`), sorted.
fn dictionary_names(dictsource: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dictsource)? {
        let file_name = entry?.file_name();
        if let Some(name) = file_name.to_string_lossy().strip_suffix("_rules") {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Copies the directory `from` to `to`, recursively.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

unsafe extern "C" {
    fn fopen(path: *const c_char, mode: *const c_char) -> *mut sys::FILE;
    fn fclose(file: *mut sys::FILE) -> i32;
}

/// A sink for the compilers' reports (espeak falls back to stderr if this is null).
fn quiet_log() -> *mut sys::FILE {
    unsafe { fopen(c"/dev/null".as_ptr(), c"w".as_ptr()) }
}
