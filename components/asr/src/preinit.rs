//! Pre-initialisation (`vox preinit`): the default model, in the configured compute type, and VAD
//! are loaded and their graphs optimised before the snapshot, so a fresh instance answers its
//! first request at once. The wasi:nn build runs the same initialisation when `vox up` starts,
//! and then its graphs once.

struct Preinit;

impl vox_preinit::Initialize for Preinit {
    fn initialize() -> Result<(), String> {
        let id = vox_preinit::block_on(crate::models::default_model());
        let compute_type =
            vox_preinit::block_on(crate::models::compute_type()).map_err(|e| e.message)?;
        let model = crate::models::get(&id, compute_type).map_err(|e| e.message)?;
        warm_graphs(&model)
    }
}

/// The wasi:nn build is initialised by `vox up` at start rather than snapshotted: one second of
/// silence through both searches makes the host's tract do its first-run work (packing, scratch
/// space for each batch size) then, not on the first request.
#[cfg(feature = "wasi-nn")]
fn warm_graphs(model: &vox_whisper::Model) -> Result<(), String> {
    let silence = vec![0.0; 16_000];
    for beam_size in [1, 5] {
        let options = vox_whisper::TranscribeOptions {
            beam_size,
            ..Default::default()
        };
        model
            .transcribe(&silence, &options)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A snapshot keeps what loading built; running the graphs inside wasm would only lengthen
/// the build.
#[cfg(not(feature = "wasi-nn"))]
fn warm_graphs(_: &vox_whisper::Model) -> Result<(), String> {
    Ok(())
}

vox_preinit::export_preinit!(Preinit);
