//! Pre-initialisation (`vox preinit`): the default voice is loaded, the plans for all its
//! length buckets built and espeak-ng initialised before the snapshot, so a fresh instance
//! answers its first request at once.

struct Preinit;

impl vox_preinit::Initialize for Preinit {
    fn initialize() -> Result<(), String> {
        let id = vox_preinit::block_on(crate::voices::default_voice());
        crate::voices::preload(&id).map_err(|e| e.message)
    }
}

vox_preinit::export_preinit!(Preinit);
