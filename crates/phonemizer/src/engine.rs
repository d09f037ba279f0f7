//! The one process-wide espeak-ng instance, behind a mutex: espeak keeps all its state in globals.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::{Mutex, MutexGuard};

use espeak_rs_sys as sys;

use crate::error::Error;
use crate::ffi;

/// One clause as espeak translates it: IPA phonemes and the raw clause terminator flags.
pub(crate) struct Clause {
    pub phonemes: String,
    pub terminator: i32,
}

/// What has been loaded into the global espeak state.
pub(crate) struct Engine {
    data_dir: Option<PathBuf>,
    voice: Option<CString>,
}

static ENGINE: Mutex<Engine> = Mutex::new(Engine {
    data_dir: None,
    voice: None,
});

/// The longest data path taken: espeak copies it into a 160-byte buffer (`path_home`).
const MAX_DATA_PATH: usize = 150;

impl Engine {
    /// Locks the engine, recovering it after a panic elsewhere: its state is only ever replaced whole.
    pub fn lock() -> MutexGuard<'static, Engine> {
        ENGINE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The data directory espeak has loaded, if any.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// Marks espeak as not loaded, after something else (the data compiler) used its globals.
    pub fn forget(&mut self) {
        self.data_dir = None;
        self.voice = None;
    }

    /// Loads espeak's data from `data_dir`, once per process; a second, different directory is refused.
    pub fn initialize(&mut self, data_dir: &Path) -> Result<(), Error> {
        // espeak falls back to other places (ESPEAK_DATA_PATH, $HOME, its build prefix) when the
        // path is wrong: insist on the directory being there.
        if !data_dir.join("phontab").is_file() {
            return Err(Error::Initialize(
                data_dir.to_owned(),
                "no phontab there".into(),
            ));
        }
        if let Some(loaded) = &self.data_dir {
            return if loaded == data_dir {
                Ok(())
            } else {
                Err(Error::DataDirInUse(loaded.clone()))
            };
        }
        let path = data_path(data_dir)?;
        // What `espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, path, 0)` does, minus its exit(1) on error.
        unsafe {
            sys::espeak_ng_InitializePath(path.as_ptr());
            let mut context: sys::espeak_ng_ERROR_CONTEXT = ptr::null_mut();
            let status = sys::espeak_ng_Initialize(&mut context);
            sys::espeak_ng_ClearErrorContext(&mut context);
            check(status).map_err(|message| Error::Initialize(data_dir.to_owned(), message))?;
            check(sys::espeak_ng_InitializeOutput(
                sys::espeak_ng_OUTPUT_MODE_ENOUTPUT_MODE_SYNCHRONOUS,
                0,
                ptr::null(),
            ))
            .map_err(|message| Error::Initialize(data_dir.to_owned(), message))?;
        }
        self.data_dir = Some(data_dir.to_owned());
        Ok(())
    }

    /// Selects a voice by name (e.g. "en-us"), as Piper does before every text.
    pub fn set_voice(&mut self, voice: &str) -> Result<(), Error> {
        let name = CString::new(voice)
            .map_err(|_| Error::Voice(voice.to_owned(), "contains NUL".into()))?;
        let status = unsafe { sys::espeak_ng_SetVoiceByName(name.as_ptr()) };
        check(status).map_err(|message| Error::Voice(voice.to_owned(), message))?;
        self.voice = Some(name);
        Ok(())
    }

    /// Translates `text` clause by clause, like espeak's `espeak_TextToPhonemesWithTerminator` loop.
    pub fn clauses(&mut self, text: &str) -> Result<Vec<Clause>, Error> {
        if self.voice.is_none() {
            return Err(Error::Voice(String::new(), "no voice selected".into()));
        }
        // A C string ends at NUL; the rest of the text should not silently vanish.
        let text = CString::new(text.replace('\0', " ")).expect("NULs replaced");
        let mut cursor: *const c_void = text.as_ptr().cast();
        let mut clauses = Vec::new();
        while !cursor.is_null() {
            let mut terminator: c_int = 0;
            let phonemes =
                unsafe { text_to_phonemes_with_terminator(&mut cursor, &mut terminator) }?;
            clauses.push(Clause {
                phonemes,
                terminator,
            });
        }
        Ok(clauses)
    }
}

/// One clause from `*cursor`, which moves on to the rest of the text, or to null at its end.
///
/// Safety: the engine lock is held, a voice is selected and `*cursor` points into a live C string.
unsafe fn text_to_phonemes_with_terminator(
    cursor: &mut *const c_void,
    terminator: &mut c_int,
) -> Result<String, Error> {
    unsafe {
        if ffi::p_decoder.is_null() {
            ffi::p_decoder = sys::create_text_decoder();
        }
        // Rust text is valid UTF-8, so this decodes exactly as espeakCHARS_AUTO would.
        let status = sys::text_decoder_decode_string_multibyte(
            ffi::p_decoder,
            *cursor,
            sys::espeak_ng_ENCODING_ESPEAKNG_ENCODING_UTF_8,
            sys::espeakCHARS_UTF8 as c_int,
        );
        check(status).map_err(Error::Translate)?;
        ffi::TranslateClauseWithTerminator(
            ffi::translator,
            ptr::null_mut(),
            ptr::null_mut(),
            terminator,
        );
        *cursor = sys::text_decoder_get_buffer(ffi::p_decoder);
        let phonemes = ffi::GetTranslatedPhonemeString(sys::espeakPHONEMES_IPA as c_int);
        if phonemes.is_null() {
            return Ok(String::new());
        }
        Ok(CStr::from_ptr(phonemes).to_string_lossy().into_owned())
    }
}

/// `path` for espeak, which copies it into a fixed buffer (`path_home`) that would cut it.
pub(crate) fn data_path(path: &Path) -> Result<CString, Error> {
    path.to_str()
        .filter(|p| p.len() <= MAX_DATA_PATH)
        .and_then(|p| CString::new(p).ok())
        .ok_or_else(|| Error::DataPath(path.to_owned()))
}

/// espeak's status code as a result with its message.
pub(crate) fn check(status: sys::espeak_ng_STATUS) -> Result<(), String> {
    if status == sys::espeak_ng_STATUS_ENS_OK {
        return Ok(());
    }
    let mut buf = [0 as c_char; 512];
    unsafe {
        sys::espeak_ng_GetStatusCodeMessage(status, buf.as_mut_ptr(), buf.len());
        Err(CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
    }
}
