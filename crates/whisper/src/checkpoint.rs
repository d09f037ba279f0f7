//! Reader for faster-whisper (CTranslate2) checkpoints: `model.bin`, `config.json`, vocabulary.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::error::read_model_file;
use crate::tokenizer::Vocabulary;

/// Element type of a stored tensor, with CTranslate2's type ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// 32-bit float (id 0).
    F32,
    /// 8-bit integer, quantized weights (id 1).
    I8,
    /// 16-bit integer (id 2).
    I16,
    /// 32-bit integer (id 3).
    I32,
    /// IEEE half float (id 4).
    F16,
    /// bfloat16 (id 5).
    BF16,
}

impl DType {
    fn from_id(id: u8) -> Option<DType> {
        Some(match id {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }

    /// Type id as written in `model.bin`.
    pub fn id(self) -> u8 {
        match self {
            DType::F32 => 0,
            DType::I8 => 1,
            DType::I16 => 2,
            DType::I32 => 3,
            DType::F16 => 4,
            DType::BF16 => 5,
        }
    }
}

/// One named variable of `model.bin`, raw little-endian bytes in row-major order.
#[derive(Clone, Debug)]
pub struct Variable {
    /// Dimensions; empty for scalars.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// Raw bytes, `shape.product() * dtype.size()` long.
    pub data: Vec<u8>,
}

impl Variable {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values converted to f32 (integers are converted as numbers, not dequantized).
    pub fn to_f32(&self) -> Vec<f32> {
        let d = &self.data;
        match self.dtype {
            DType::F32 => d
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F16 => d
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::BF16 => d
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::I8 => d.iter().map(|&b| b as i8 as f32).collect(),
            DType::I16 => d
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32)
                .collect(),
            DType::I32 => d
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
                .collect(),
        }
    }

    /// First element as an integer (for config scalars such as `num_heads`).
    pub fn scalar_i64(&self) -> Option<i64> {
        self.to_f32().first().map(|&v| v as i64)
    }
}

/// Decoding policy from `config.json`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Config {
    /// (layer, head) pairs of cross-attention heads aligned with time.
    #[serde(default)]
    pub alignment_heads: Vec<(usize, usize)>,
    /// Token ids of the language tokens (multilingual models).
    #[serde(default)]
    pub lang_ids: Vec<u32>,
    /// Non-speech tokens suppressed at every step (`suppress_tokens=[-1]`).
    #[serde(default)]
    pub suppress_ids: Vec<u32>,
    /// Tokens suppressed at the first sampled position (`suppress_blank`).
    #[serde(default)]
    pub suppress_ids_begin: Vec<u32>,
}

/// Architecture sizes, inferred from tensor shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    /// Mel bins of the input features.
    pub n_mels: usize,
    /// Encoder positions (1500 for 30 s).
    pub n_audio_ctx: usize,
    /// Model width.
    pub d_model: usize,
    /// Attention heads in the encoder.
    pub n_audio_head: usize,
    /// Encoder layers.
    pub n_audio_layer: usize,
    /// Decoder positions (448).
    pub n_text_ctx: usize,
    /// Attention heads in the decoder.
    pub n_text_head: usize,
    /// Decoder layers.
    pub n_text_layer: usize,
    /// Vocabulary size.
    pub n_vocab: usize,
}

/// A loaded checkpoint: variables by name, decoding config, vocabulary.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// Variables of `model.bin` (aliases resolved to copies of their target's name).
    pub variables: HashMap<String, Variable>,
    /// Alias name to target name.
    pub aliases: HashMap<String, String>,
    /// `config.json`.
    pub config: Config,
    /// Token strings in GPT-2 byte-level form, index == id.
    pub vocabulary: Vec<String>,
    /// BPE merges from `tokenizer.json` ("a b", best first), empty without it.
    pub merges: Vec<String>,
    /// Sizes inferred from shapes.
    pub dims: Dims,
}

impl Checkpoint {
    /// Read a faster-whisper model directory.
    pub fn load(dir: &Path) -> Result<Checkpoint, Error> {
        // Read as it is parsed: the file's bytes are held once, in the variables.
        Checkpoint::assemble(dir, read_model_bin(open_model_bin(dir)?, Keep::All)?)
    }

    /// The same without the weights: every variable's shape, only small values (the head
    /// counts) read. Enough for the dimensions, config and vocabulary of a model whose graphs
    /// are already prepared elsewhere (on the host, through wasi:nn); building graphs from it
    /// fails.
    pub fn load_layout(dir: &Path) -> Result<Checkpoint, Error> {
        Checkpoint::assemble(dir, read_model_bin(open_model_bin(dir)?, Keep::Small(64))?)
    }

    fn assemble(dir: &Path, (variables, aliases): ModelBin) -> Result<Checkpoint, Error> {
        let read = |name: &str| read_model_file(dir, name);
        let config = if dir.join("config.json").exists() {
            serde_json::from_slice(&read("config.json")?)
                .map_err(|e| Error::Checkpoint(format!("config.json: {e}")))?
        } else {
            Config::default()
        };
        Checkpoint::from_parts(variables, aliases, config, Vocabulary::read(dir)?)
    }

    /// Assemble a checkpoint from parsed parts, inferring its dimensions.
    pub fn from_parts(
        variables: HashMap<String, Variable>,
        aliases: HashMap<String, String>,
        config: Config,
        vocabulary: Vocabulary,
    ) -> Result<Checkpoint, Error> {
        let mut ckpt = Checkpoint {
            variables,
            aliases,
            config,
            vocabulary: vocabulary.tokens,
            merges: vocabulary.merges,
            dims: Dims {
                n_mels: 0,
                n_audio_ctx: 0,
                d_model: 0,
                n_audio_head: 0,
                n_audio_layer: 0,
                n_text_ctx: 0,
                n_text_head: 0,
                n_text_layer: 0,
                n_vocab: 0,
            },
        };
        ckpt.dims = ckpt.infer_dims()?;
        if ckpt.vocabulary.len() < ckpt.dims.n_vocab {
            return Err(Error::Checkpoint(format!(
                "vocabulary has {} tokens, model has {}",
                ckpt.vocabulary.len(),
                ckpt.dims.n_vocab
            )));
        }
        Ok(ckpt)
    }

    fn infer_dims(&self) -> Result<Dims, Error> {
        let shape = |name: &str| self.get(name).map(|v| v.shape.clone());
        let conv1 = shape("encoder/conv1/weight")?;
        let embeddings = shape("decoder/embeddings/weight")?;
        let audio_pos = shape("encoder/position_encodings/encodings")?;
        let text_pos = shape("decoder/position_encodings/encodings")?;
        if conv1.len() != 3 || embeddings.len() != 2 || audio_pos.len() != 2 || text_pos.len() != 2
        {
            return Err(Error::Checkpoint(
                "unexpected rank of encoder/decoder tensors".into(),
            ));
        }
        let d_model = embeddings[1];
        let count_layers = |prefix: &str| {
            (0..)
                .take_while(|i| {
                    self.variables
                        .contains_key(&format!("{prefix}/layer_{i}/ffn/layer_norm/gamma"))
                })
                .count()
        };
        // Heads are not recoverable from shapes; CTranslate2 stores them as scalars,
        // and every Whisper size uses 64-wide heads otherwise.
        let heads = |name: &str| {
            self.variables
                .get(name)
                .and_then(Variable::scalar_i64)
                .map(|h| h as usize)
                .unwrap_or(d_model / 64)
        };
        let dims = Dims {
            n_mels: conv1[1],
            n_audio_ctx: audio_pos[0],
            d_model,
            n_audio_head: heads("encoder/num_heads"),
            n_audio_layer: count_layers("encoder"),
            n_text_ctx: text_pos[0],
            n_text_head: heads("decoder/num_heads"),
            n_text_layer: count_layers("decoder"),
            n_vocab: embeddings[0],
        };
        if dims.n_audio_layer == 0 || dims.n_text_layer == 0 || d_model % dims.n_audio_head != 0 {
            return Err(Error::Checkpoint(format!(
                "inconsistent dimensions {dims:?}"
            )));
        }
        Ok(dims)
    }

    /// A variable by name, following aliases.
    pub fn get(&self, name: &str) -> Result<&Variable, Error> {
        let target = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.variables
            .get(target)
            .ok_or_else(|| Error::Checkpoint(format!("missing variable {name}")))
    }

    /// A variable as f32, dequantizing int8/int16 weights with their `weight_scale`.
    pub fn f32(&self, name: &str) -> Result<Vec<f32>, Error> {
        let var = self.get(name)?;
        let mut values = var.to_f32();
        if matches!(var.dtype, DType::I8 | DType::I16) {
            // CTranslate2 stores round(w * scale) with one scale per output row (or one in total).
            let scale = self.get(&format!("{name}_scale"))?.to_f32();
            let rows = var.shape.first().copied().unwrap_or(1).max(1);
            let cols = values.len() / rows;
            for (r, row) in values.chunks_mut(cols.max(1)).enumerate() {
                let s = if scale.len() == rows {
                    scale[r]
                } else {
                    scale[0]
                };
                row.iter_mut().for_each(|v| *v /= s);
            }
        }
        Ok(values)
    }
}

/// `model.bin` read in order, its position kept for error messages.
struct Reader<R> {
    inner: R,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Reader<R> {
    fn new(mut inner: R) -> Result<Self, Error> {
        let len = inner.seek(SeekFrom::End(0)).map_err(io_error)?;
        inner.seek(SeekFrom::Start(0)).map_err(io_error)?;
        Ok(Reader { inner, pos: 0, len })
    }

    fn truncated(&self) -> Error {
        Error::Checkpoint(format!("model.bin truncated at byte {}", self.pos))
    }

    /// The next `n` bytes, or an error if the file ends first.
    fn take(&mut self, n: usize) -> Result<Vec<u8>, Error> {
        self.skip_check(n)?;
        let mut bytes = vec![0; n];
        self.inner.read_exact(&mut bytes).map_err(io_error)?;
        self.pos += n as u64;
        Ok(bytes)
    }

    /// Passes over `n` bytes without reading them.
    fn skip(&mut self, n: usize) -> Result<(), Error> {
        self.skip_check(n)?;
        self.inner
            .seek(SeekFrom::Current(n as i64))
            .map_err(io_error)?;
        self.pos += n as u64;
        Ok(())
    }

    fn skip_check(&self, n: usize) -> Result<(), Error> {
        match self.pos.checked_add(n as u64) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(self.truncated()),
        }
    }

    /// The next `N` bytes, read in place.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        self.skip_check(N)?;
        let mut bytes = [0; N];
        self.inner.read_exact(&mut bytes).map_err(io_error)?;
        self.pos += N as u64;
        Ok(bytes)
    }
    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// u16 length including the trailing NUL, then the bytes.
    fn string(&mut self) -> Result<String, Error> {
        let len = self.u16()? as usize;
        let mut bytes = self.take(len)?;
        if bytes.last() == Some(&0) {
            bytes.pop();
        }
        String::from_utf8(bytes)
            .map_err(|_| Error::Checkpoint("non UTF-8 name in model.bin".into()))
    }
}

/// `dir`'s `model.bin`, buffered.
fn open_model_bin(dir: &Path) -> Result<std::io::BufReader<std::fs::File>, Error> {
    let path = dir.join("model.bin");
    std::fs::File::open(&path)
        .map(|file| std::io::BufReader::with_capacity(1 << 20, file))
        .map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })
}

fn io_error(source: std::io::Error) -> Error {
    Error::Io {
        path: "model.bin".into(),
        source,
    }
}

/// Which variables' values a read keeps.
#[derive(Clone, Copy)]
enum Keep {
    /// Every value.
    All,
    /// Only values of at most this many bytes (the scalars a layout needs, such as
    /// `num_heads`); the rest are read as their shapes with no data.
    Small(usize),
}

/// Variables by name and aliases (alias → target) of a `model.bin`.
pub type ModelBin = (HashMap<String, Variable>, HashMap<String, String>);

/// Parse CTranslate2's `model.bin` (binary versions 1 to 6).
pub fn parse_model_bin(bytes: &[u8]) -> Result<ModelBin, Error> {
    read_model_bin(std::io::Cursor::new(bytes), Keep::All)
}

/// `model.bin` read with only the values `keep` asks for.
fn read_model_bin(source: impl Read + Seek, keep: Keep) -> Result<ModelBin, Error> {
    let mut c = Reader::new(source)?;
    let version = c.u32()?;
    if !(1..=6).contains(&version) {
        return Err(Error::Checkpoint(format!(
            "unsupported model.bin version {version}"
        )));
    }
    if version >= 2 {
        let _spec_name = c.string()?;
        let _spec_revision = c.u32()?;
    }
    let count = c.u32()?;
    let mut variables = HashMap::with_capacity(count as usize);
    for _ in 0..count {
        let name = c.string()?;
        let rank = c.u8()? as usize;
        let shape = (0..rank)
            .map(|_| c.u32().map(|d| d as usize))
            .collect::<Result<Vec<_>, _>>()?;
        let (dtype, num_bytes) = if version >= 4 {
            let id = c.u8()?;
            let dtype = DType::from_id(id)
                .ok_or_else(|| Error::Checkpoint(format!("{name}: dtype id {id}")))?;
            (dtype, c.u32()? as usize)
        } else {
            let item_size = c.u8()?;
            let n = c.u32()? as usize;
            let dtype = match item_size {
                1 => DType::I8,
                2 => DType::F16,
                4 => DType::F32,
                s => return Err(Error::Checkpoint(format!("{name}: item size {s}"))),
            };
            (dtype, n * item_size as usize)
        };
        let expected = shape.iter().product::<usize>() * dtype.size();
        if num_bytes != expected {
            return Err(Error::Checkpoint(format!(
                "{name}: {num_bytes} bytes for shape {shape:?}"
            )));
        }
        let data = match keep {
            Keep::Small(most) if num_bytes > most => {
                c.skip(num_bytes)?;
                Vec::new()
            }
            _ => c.take(num_bytes)?,
        };
        variables.insert(name, Variable { shape, dtype, data });
    }
    let mut aliases = HashMap::new();
    if version >= 3 {
        let n = c.u32()?;
        for _ in 0..n {
            let alias = c.string()?;
            let target = c.string()?;
            aliases.insert(alias, target);
        }
    }
    Ok((variables, aliases))
}

/// Serialize variables in `model.bin` version 6 layout (used by tests to build small checkpoints).
pub fn write_model_bin(variables: &[(&str, &Variable)], aliases: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    let string = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    };
    out.extend_from_slice(&6u32.to_le_bytes());
    string(&mut out, "WhisperSpec");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(variables.len() as u32).to_le_bytes());
    for (name, var) in variables {
        string(&mut out, name);
        out.push(var.shape.len() as u8);
        for &d in &var.shape {
            out.extend_from_slice(&(d as u32).to_le_bytes());
        }
        out.push(var.dtype.id());
        out.extend_from_slice(&(var.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&var.data);
    }
    out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
    for (alias, target) in aliases {
        string(&mut out, alias);
        string(&mut out, target);
    }
    out
}
