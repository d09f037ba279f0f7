//! Compiling espeak-ng's English data from the espeak-ng sources that espeak-rs-sys ships, so the
//! data always matches the library's version.

use std::ffi::{CString, c_char};
use std::fs;
use std::path::Path;
use std::ptr;

use espeak_rs_sys as sys;

use crate::engine::{self, Engine};
use crate::error::Error;

/// Dictionaries compiled: English only.
const DICTIONARIES: &[&str] = &["en"];
/// Voice files copied from `espeak-ng-data/lang`: the English variants.
const VOICE_DIR: &str = "lang/gmw";
const VOICE_PREFIX: &str = "en";

/// Builds an `espeak-ng-data` directory at `data_dir` from the espeak-ng source tree at `source`
/// (the `espeak-ng` directory inside the espeak-rs-sys package): phoneme tables, intonations,
/// the English dictionary and the English voices, ≈ 840 KB.
///
/// espeak's global state is used for compiling, so this must run before any [`crate::Phonemizer`]
/// is made in this process. espeak notes on stderr that the dictionary it is about to compile
/// cannot be read yet.
pub fn compile_data(source: &Path, data_dir: &Path) -> Result<(), Error> {
    let fail = |what: &str, message: String| Error::Compile(format!("{what}: {message}"));
    let mut engine = Engine::lock();
    if let Some(loaded) = engine.data_dir() {
        return Err(Error::DataDirInUse(loaded.to_owned()));
    }
    let voices_src = source.join("espeak-ng-data").join(VOICE_DIR);
    let voices_dst = data_dir.join(VOICE_DIR);
    fs::create_dir_all(&voices_dst)
        .map_err(|e| fail("creating the data directory", e.to_string()))?;
    for entry in fs::read_dir(&voices_src).map_err(|e| fail("reading voices", e.to_string()))? {
        let entry = entry.map_err(|e| fail("reading voices", e.to_string()))?;
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(VOICE_PREFIX)
        {
            fs::copy(entry.path(), voices_dst.join(entry.file_name()))
                .map_err(|e| fail("copying voices", e.to_string()))?;
        }
    }

    let c_path =
        |path: &Path| CString::new(path.to_string_lossy().as_bytes()).expect("path without NUL");
    let data = engine::data_path(data_dir)?;
    // Intonations are read from `<source_path>/../phsource/intonation`.
    let espeak_data_src = c_path(&source.join("espeak-ng-data"));
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
        for name in DICTIONARIES {
            let voice = CString::new(*name).expect("no NUL");
            // Fails for want of the dictionary being built, after loading the phoneme table it needs.
            sys::espeak_ng_SetVoiceByName(voice.as_ptr());
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
