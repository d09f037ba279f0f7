//! The installed Whisper models (`/models/whisper/<id>/`), each loaded with the VAD attached: a
//! [`vox_catalog::Kind`], so this instance's catalogue loads each model once and also takes
//! OpenAI's transcription model names.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use vox_api::models::{CHECKPOINT_NAMES, Model as ModelInfo, ModelList, TRANSCRIPTION_ALIASES};
use vox_api::{ApiError, ErrorCode};
use vox_catalog::{Catalog, Kind};
use vox_whisper::vad::Vad;
use vox_whisper::{ComputeType, Inference, Model};

const MODELS_DIR: &str = "/models/whisper";
/// Silero VAD v5 (encoder + decoder ONNX), used when a request asks for `vad_filter`.
const VAD_DIR: &str = "/models/vad";
const FALLBACK_DEFAULT: &str = "tiny.en";

/// Where this build runs Whisper's graphs (the `wasi-nn` build: on the host, through
/// `wasi:nn`; VAD, decoding and timestamps stay in the component either way).
#[cfg(not(feature = "wasi-nn"))]
pub const INFERENCE: Inference = Inference::InProcess;
#[cfg(feature = "wasi-nn")]
pub const INFERENCE: Inference = Inference::WasiNn;

/// faster-whisper checkpoints as catalogue entries.
struct Models;

impl Kind for Models {
    type Info = ModelInfo;
    type Entry = Model;
    type Options = ComputeType;

    const NOUN: &'static str = "model";
    const NOT_FOUND: ErrorCode = ErrorCode::ModelNotFound;

    fn id_of(file_name: &str) -> Option<&str> {
        Some(file_name)
    }

    fn path(dir: &Path, id: &str) -> PathBuf {
        dir.join(id)
    }

    fn is_complete(dir: &Path) -> bool {
        dir.join("model.bin").is_file()
    }

    fn id(info: &ModelInfo) -> &str {
        &info.id
    }

    fn describe(&self, id: &str, dir: &Path) -> Option<ModelInfo> {
        Some(ModelInfo {
            id: id.to_string(),
            multilingual: is_multilingual(dir),
        })
    }

    fn load(&self, dir: &Path, compute_type: ComputeType) -> Result<Model, ApiError> {
        let model = Model::load_on(dir, compute_type, INFERENCE)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        // VAD is optional: without its files, `vad_filter` requests get a clear error from the model.
        Ok(match Vad::load(Path::new(VAD_DIR)) {
            Ok(vad) => model.with_vad(vad),
            Err(_) => model,
        })
    }

    /// OpenAI's transcription model names (dated or not) mean the default model; checkpoint
    /// names (`Systran/faster-whisper-tiny.en`) the installed model they name.
    fn alias(
        &self,
        name: &str,
        installed: Vec<ModelInfo>,
        default: &str,
    ) -> Option<Result<String, ApiError>> {
        let ids: Vec<&str> = installed.iter().map(|m| m.id.as_str()).collect();
        vox_api::models::transcription_alias(name, &ids, default).map(Ok)
    }

    fn alias_names(&self) -> Vec<&'static str> {
        let mut names = TRANSCRIPTION_ALIASES.to_vec();
        names.push(CHECKPOINT_NAMES);
        names
    }
}

thread_local! {
    // An instance serves many requests: each model is loaded (and its graphs optimised) once.
    static CATALOG: Catalog<Models> = Catalog::new(MODELS_DIR, Models);
}

/// The model used when a request names none: the `model` Spin variable.
pub async fn default_model() -> String {
    spin_sdk::variables::get("model")
        .await
        .ok()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| FALLBACK_DEFAULT.to_string())
}

/// How the model's linear layers compute: the `compute_type` Spin variable (`int8`, the
/// default, or `float32`), as faster-whisper's `compute_type`.
pub async fn compute_type() -> Result<ComputeType, ApiError> {
    match spin_sdk::variables::get("compute_type").await {
        Ok(v) if !v.trim().is_empty() => v.parse().map_err(ApiError::internal),
        _ => Ok(ComputeType::Int8),
    }
}

/// Model directories that hold a faster-whisper checkpoint.
pub fn installed() -> Vec<ModelInfo> {
    CATALOG.with(Catalog::installed)
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
    CATALOG.with(Catalog::loaded)
}

/// The loaded model `id` in `compute_type`, loading it (again) when this instance holds it in
/// none or another.
pub fn get(id: &str, compute_type: ComputeType) -> Result<Rc<Model>, ApiError> {
    CATALOG.with(|c| match c.cached(id) {
        Some(model) if model.compute_type() == compute_type => Ok(model),
        _ => c.load(id, compute_type),
    })
}

/// The model a request names (an installed id or an OpenAI model name), or the default one,
/// loaded on first use.
pub async fn for_request(requested: Option<&str>) -> Result<Rc<Model>, ApiError> {
    let default = default_model().await;
    let compute_type = compute_type().await?;
    let id = CATALOG.with(|c| c.resolve(requested, &default))?;
    get(&id, compute_type)
}

/// Whether the checkpoint in `dir` is multilingual, as vox-whisper reads it (without loading
/// the weights); an unreadable vocabulary lists the model as English-only.
fn is_multilingual(dir: &Path) -> bool {
    vox_whisper::is_multilingual(dir).unwrap_or(false)
}
