//! Pre-initialisation (`vox preinit`): the default model, in the configured compute type, and VAD
//! are loaded and their graphs optimised before the snapshot, so a fresh instance answers its
//! first request at once.

struct Preinit;

impl vox_preinit::Initialize for Preinit {
    fn initialize() -> Result<(), String> {
        let id = vox_preinit::block_on(crate::models::default_model());
        let compute_type =
            vox_preinit::block_on(crate::models::compute_type()).map_err(|e| e.message)?;
        crate::models::get(&id, compute_type)
            .map(drop)
            .map_err(|e| e.message)
    }
}

vox_preinit::export_preinit!(Preinit);
