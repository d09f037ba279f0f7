//! A batch of sequences in the decoder-step graph: its self-attention KV cache, one step, and
//! CTranslate2's beam reordering — of the cache's history table, not of the cache, which stays
//! where the step's ops extend it in place ([`crate::self_attention`]): here, or in the host's
//! execution context when the graph runs there (`graph::Cache::OnHost`).

use tract_onnx::prelude::*;

use crate::Error;
use crate::checkpoint::Dims;
#[cfg(feature = "wasi-nn")]
use crate::runner::Held;
use crate::runner::{Engine, Run, floats};

/// Cross-attention keys and values of one audio window, per decoder layer, batch 1.
#[derive(Clone)]
pub struct AudioFeatures {
    pub(crate) cross: Cross,
}

/// Where a window's cross-attention keys and values are.
#[derive(Clone)]
pub(crate) enum Cross {
    /// Here, per decoder layer.
    Here(Vec<(TValue, TValue)>),
    /// On the host, held by the audio graph's context for the decoder's.
    #[cfg(feature = "wasi-nn")]
    Held(Held),
}

impl Cross {
    /// The per-layer keys and values, when they are here.
    fn here(&self) -> Option<&[(TValue, TValue)]> {
        match self {
            Cross::Here(layers) => Some(layers),
            #[cfg(feature = "wasi-nn")]
            Cross::Held(_) => None,
        }
    }

    /// The input naming them on the host, when they are there.
    fn key(&self) -> Option<&TValue> {
        match self {
            Cross::Here(_) => None,
            #[cfg(feature = "wasi-nn")]
            Cross::Held(held) => Some(&held.key),
        }
    }
}

/// Self-attention cache and cross-attention inputs for a batch of sequences.
pub(crate) struct Session<'a> {
    run: Run<'a>,
    /// The decoder's context, in tokens.
    n_text_ctx: usize,
    batch: usize,
    /// Positions already in the cache.
    past: usize,
    /// The cache per layer; with the cache on the host, the empty one the first step sends.
    cache: Vec<(TValue, TValue)>,
    /// `[past][batch]`: the cache row holding each row's key and value at each past position.
    history: Vec<i64>,
    cross: Cross,
}

impl<'a> Session<'a> {
    /// An empty cache for `batch` sequences over the encoded `audio`.
    pub(crate) fn new(
        plan: &'a Engine,
        dims: Dims,
        audio: &AudioFeatures,
        batch: usize,
    ) -> Result<Session<'a>, Error> {
        let empty = || -> Result<TValue, Error> {
            Ok(Tensor::zero::<f32>(&[batch, dims.n_text_head, 0, 64])?.into_tvalue())
        };
        let cache = (0..dims.n_text_layer)
            .map(|_| Ok((empty()?, empty()?)))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Session {
            run: plan.start(),
            n_text_ctx: dims.n_text_ctx,
            batch,
            past: 0,
            cache,
            history: Vec::new(),
            cross: audio.cross.clone(),
        })
    }

    /// Feed `tokens` (`batch` rows of equal length) and return logits at positions `select`
    /// of the new tokens, `[batch][select.len()][n_vocab]` flattened, and the cross-attention
    /// scores `[batch, heads, new tokens, frames]` of the alignment layers.
    pub(crate) fn step_with_scores(
        &mut self,
        tokens: &[u32],
        select: &[usize],
    ) -> Result<(Vec<f32>, Vec<TValue>), Error> {
        let n_new = tokens.len() / self.batch;
        let toks: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
        let positions: Vec<i64> = (self.past..self.past + n_new).map(|p| p as i64).collect();
        if self.past + n_new > self.n_text_ctx {
            return Err(Error::Inference("decoder context exceeded".into()));
        }
        let mut mask = vec![0f32; n_new * n_new];
        for i in 0..n_new {
            for j in i + 1..n_new {
                mask[i * n_new + j] = f32::NEG_INFINITY;
            }
        }
        let select: Vec<i64> = select.iter().map(|&i| i as i64).collect();
        let on_host = self.run.carries();
        let mut inputs: TVec<TValue> = tvec![
            Tensor::from_shape(&[self.batch, n_new], &toks)?.into_tvalue(),
            Tensor::from_shape(&[n_new], &positions)?.into_tvalue(),
            Tensor::from_shape(&[n_new, n_new], &mask)?.into_tvalue(),
            Tensor::from_shape(&[select.len()], &select)?.into_tvalue(),
            Tensor::from_shape(&[self.past, self.batch], &self.history)?.into_tvalue(),
        ];
        // The cross-attention inputs are the window's: the same on every step (or, held on
        // the host, named by their key, the last input). A cache on the host is sent once,
        // empty; the host carries it from then on. One here is moved into the step, which
        // extends it in place only if it holds the sole reference.
        let mut constant = Vec::with_capacity(4 * self.cache.len() + 1);
        for (layer, (k, v)) in self.cache.iter_mut().enumerate() {
            if on_host {
                constant.extend([inputs.len(), inputs.len() + 1]);
                inputs.push(k.clone());
                inputs.push(v.clone());
            } else {
                let taken = tensor0(0f32).into_tvalue();
                inputs.push(std::mem::replace(k, taken.clone()));
                inputs.push(std::mem::replace(v, taken));
            }
            if let Some((ck, cv)) = self.cross.here().and_then(|cross| cross.get(layer)) {
                constant.extend([inputs.len(), inputs.len() + 1]);
                inputs.push(ck.clone());
                inputs.push(cv.clone());
            }
        }
        if let Some(key) = self.cross.key() {
            constant.push(inputs.len());
            inputs.push(key.clone());
        }
        let outputs = self.run.run(inputs, &constant)?;
        let layers = if on_host { 0 } else { self.cache.len() };
        if outputs.len() < 2 * layers + 1 {
            return Err(Error::Inference("decoder graph outputs missing".into()));
        }
        let mut outputs = outputs.into_iter();
        if !on_host {
            for layer in self.cache.iter_mut() {
                let k = outputs.next().expect("checked length");
                let v = outputs.next().expect("checked length");
                *layer = (k, v);
            }
        }
        // Each row's new positions are in its own cache row.
        for _ in 0..n_new {
            self.history.extend(0..self.batch as i64);
        }
        self.past += n_new;
        let logits = outputs.next().expect("checked length");
        Ok((floats(&logits)?.to_vec(), outputs.collect()))
    }

    /// [`step_with_scores`](Self::step_with_scores) without the attention scores.
    pub(crate) fn step(&mut self, tokens: &[u32], select: &[usize]) -> Result<Vec<f32>, Error> {
        Ok(self.step_with_scores(tokens, select)?.0)
    }

    /// Keep batch rows `rows` (beam reordering, dropping finished samples): row `i` continues
    /// row `rows[i]`. Only the history changes; the cache rows stay where they are.
    pub(crate) fn reorder(&mut self, rows: &[usize]) -> Result<(), Error> {
        if let Some(&row) = rows.iter().find(|&&r| r >= self.batch) {
            return Err(Error::Inference(format!(
                "row {row} of a batch of {}",
                self.batch
            )));
        }
        self.history = self
            .history
            .chunks_exact(self.batch.max(1))
            .flat_map(|position| rows.iter().map(|&r| position[r]))
            .collect();
        self.batch = rows.len();
        Ok(())
    }
}
