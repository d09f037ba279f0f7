//! The installed Whisper models (`/models/whisper/<id>/`) and the ones loaded in this instance.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use vox_api::models::{Model as ModelInfo, ModelList};
use vox_api::{ApiError, ErrorCode};
use vox_whisper::Model;
use vox_whisper::vad::Vad;

const MODELS_DIR: &str = "/models/whisper";
/// Silero VAD v5 (encoder + decoder ONNX), used when a request asks for `vad_filter`.
const VAD_DIR: &str = "/models/vad";
const FALLBACK_DEFAULT: &str = "tiny.en";

thread_local! {
    // An instance serves many requests: each model is loaded (and its graphs optimised) once.
    static LOADED: RefCell<HashMap<String, Rc<Model>>> = RefCell::new(HashMap::new());
}

/// The model used when a request names none: the `model` Spin variable.
pub async fn default_model() -> String {
    spin_sdk::variables::get("model")
        .await
        .ok()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| FALLBACK_DEFAULT.to_string())
}

/// Model directories that hold a faster-whisper checkpoint.
pub fn installed() -> Vec<ModelInfo> {
    let Ok(entries) = std::fs::read_dir(MODELS_DIR) else {
        return Vec::new();
    };
    let mut models: Vec<ModelInfo> = entries
        .flatten()
        .filter(|e| e.path().join("model.bin").is_file())
        .filter_map(|e| {
            let id = e.file_name().into_string().ok()?;
            Some(ModelInfo {
                multilingual: is_multilingual(&e.path()),
                id,
            })
        })
        .collect();
    models.sort_by(|a, b| a.id.cmp(&b.id));
    models
}

pub async fn list() -> Result<serde_json::Value, ApiError> {
    let list = ModelList {
        models: installed(),
        default: Some(default_model().await),
    };
    serde_json::to_value(list).map_err(|e| ApiError::internal(e.to_string()))
}

/// The models this instance has in memory (a pre-initialised instance starts with one).
pub fn loaded() -> Vec<String> {
    let mut ids: Vec<String> = LOADED.with(|m| m.borrow().keys().cloned().collect());
    ids.sort();
    ids
}

/// The loaded model `id`, loading it on first use.
pub fn get(id: &str) -> Result<Rc<Model>, ApiError> {
    if let Some(model) = LOADED.with(|m| m.borrow().get(id).cloned()) {
        return Ok(model);
    }
    let dir = model_dir(id)?;
    let mut model =
        Model::load(&dir).map_err(|e| ApiError::internal(format!("loading model `{id}`: {e}")))?;
    // VAD is optional: without its files, `vad_filter` requests get a clear error from the model.
    if let Ok(vad) = Vad::load(Path::new(VAD_DIR)) {
        model = model.with_vad(vad);
    }
    let model = Rc::new(model);
    LOADED.with(|m| m.borrow_mut().insert(id.to_string(), model.clone()));
    Ok(model)
}

fn model_dir(id: &str) -> Result<PathBuf, ApiError> {
    let valid = !id.is_empty() && !id.starts_with('.') && !id.contains(['/', '\\']);
    let dir = Path::new(MODELS_DIR).join(id);
    if !valid || !dir.join("model.bin").is_file() {
        let names: Vec<String> = installed().into_iter().map(|m| m.id).collect();
        return Err(ApiError::new(
            ErrorCode::ModelNotFound,
            format!(
                "no model `{id}` is installed; installed: {}",
                names.join(", ")
            ),
        )
        .with_param("model"));
    }
    Ok(dir)
}

/// Whether the checkpoint in `dir` is multilingual, as vox-whisper reads it (without loading
/// the weights); an unreadable vocabulary lists the model as English-only.
fn is_multilingual(dir: &Path) -> bool {
    vox_whisper::is_multilingual(dir).unwrap_or(false)
}
