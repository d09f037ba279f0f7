//! The decoder step's self-attention over its key/value cache, the cache extended in place and
//! beams reordered by a table instead of by copying.
//!
//! The step graph used to take each layer's past keys and values as tensors and return
//! `Concat(past, new)`: every step copied every layer's whole cache, beam search copied every
//! row of it to reorder the hypotheses (`Gather`), and tract's `MatMul` repacked the past keys
//! and values for a product with one query row per hypothesis — work growing with the cache, per
//! layer and step. In a long file, where each window starts from a previous-text prompt of up to
//! 223 tokens (faster-whisper's `condition_on_previous_text`), a beam-5 step cost 14.6 ms against
//! 8.2 ms without the prompt (natively, one thread, the bench's 164 s clip).
//!
//! Here a layer's cache `[R, H, C, 64]` has room for `C` positions of `R` rows. The op that
//! extends it takes it as its only holder (tract hands an input to its last consumer, and the
//! caller keeps no copy), so the new positions are written in place; it grows by doubling when
//! full. Hypotheses are not reordered by moving rows: the `history` input `[P, B]` names, for
//! each past position and hypothesis, the cache row holding that hypothesis's key and value at
//! that position. A step writes hypothesis `b`'s new positions into row `b` — positions no row
//! has used yet, since every hypothesis is at the same length — and reordering rewrites only the
//! table (`decode::session`), as a paged cache's block table does.
//!
//! Two ops, so that tract's softmax stays between them:
//! * [`SCORES_OP_TYPE`]: `q [B, H, S, D]`, new keys `k [B, H, S, D]`, the additive causal
//!   `mask [S, S]` among the new positions, the cache, `history [P, B]` → `scores
//!   [B, H, S, P + S]` and the cache with the new keys;
//! * [`WEIGHTED_OP_TYPE`]: `probs [B, H, S, P + S]`, new values `v [B, H, S, D]`, the cache,
//!   `history` → `[B, H, S, D]` and the cache with the new values.
//!
//! Every value is computed in a fixed order with multiplies and adds (never fused), so the
//! portable, AVX2 and wasm SIMD builds give the same bits: a score sums `q · k` over `k mod 8` in
//! eight lanes, then folds the lanes in pairs; an output row sums its positions in order.

use tract_onnx::tract_hir::internal::*;

use crate::runner::floats;

/// The ONNX op type of [`CachedScores`], in [`crate::ops::DOMAIN`].
pub const SCORES_OP_TYPE: &str = "VoxCachedScores";
/// The ONNX op type of [`CachedWeighted`], in [`crate::ops::DOMAIN`].
pub const WEIGHTED_OP_TYPE: &str = "VoxCachedWeighted";

/// Positions a cache first makes room for (it doubles from there): a short window's whole
/// decoding, without regrowing.
const FIRST_CAPACITY: usize = 64;

/// A parsed node of either op (no attributes): [`SCORES_OP_TYPE`], or with `WEIGHTED`
/// [`WEIGHTED_OP_TYPE`].
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
pub(crate) struct CachedNode<const WEIGHTED: bool>;

/// The parsed scores node.
pub(crate) type CachedScoresNode = CachedNode<false>;
/// The parsed weighted-sum node.
pub(crate) type CachedWeightedNode = CachedNode<true>;

impl<const WEIGHTED: bool> Expansion for CachedNode<WEIGHTED> {
    fn name(&self) -> StaticName {
        if WEIGHTED {
            WEIGHTED_OP_TYPE
        } else {
            SCORES_OP_TYPE
        }
        .into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    /// f32 tensors of rank 4 but the mask (rank 2) and `history` (i64, rank 2, the last
    /// input); two outputs, the second the cache (its rows and capacity set by the op).
    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        let arity = if WEIGHTED { 4 } else { 5 };
        check_input_arity(inputs, arity)?;
        check_output_arity(outputs, 2)?;
        let (history, tensors) = inputs.split_last().expect("checked arity");
        s.equals(&history.datum_type, i64::datum_type())?;
        s.equals(&history.rank, 2)?;
        for (i, proxy) in tensors.iter().chain(outputs).enumerate() {
            let mask = !WEIGHTED && i == 2;
            s.equals(&proxy.datum_type, f32::datum_type())?;
            s.equals(&proxy.rank, if mask { 2 } else { 4 })?;
        }
        if WEIGHTED {
            return s.equals(&outputs[0].shape, &inputs[1].shape);
        }
        s.given_2(&inputs[0].shape, &history.shape, move |s, q, history| {
            let positions = history[0].clone() + q[2].clone();
            s.equals(
                &outputs[0].shape,
                tvec![q[0].clone(), q[1].clone(), q[2].clone(), positions],
            )
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        if WEIGHTED {
            model.wire_node(prefix, CachedWeighted, inputs)
        } else {
            model.wire_node(prefix, CachedScores, inputs)
        }
    }
}

/// `scores = q · [past keys; new keys]ᵀ (+ mask on the new)`, the new keys written to the cache.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct CachedScores;

/// `out = probs · [past values; new values]`, the new values written to the cache.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct CachedWeighted;

/// A step's sizes: `b` hypotheses, `h` heads, `s` new positions of width `d`, after `p` past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Step {
    b: usize,
    h: usize,
    s: usize,
    d: usize,
    p: usize,
}

impl Step {
    /// The sizes of `new` (`[B, H, S, D]`) after `history` (`[P, B]`), checked.
    fn of(new: &[usize], history: &[usize]) -> TractResult<Step> {
        let (&[b, h, s, d], &[p, hb]) = (new, history) else {
            bail!(
                "expected new positions [B, H, S, D] and history [P, B], got {new:?}, {history:?}"
            );
        };
        ensure!(hb == b, "history {history:?} is not for {b} hypotheses");
        Ok(Step { b, h, s, d, p })
    }
}

/// A layer's cache: `[rows, heads, capacity, width]`.
struct Cache {
    data: Tensor,
}

impl Cache {
    /// Rows it holds.
    fn rows(&self) -> usize {
        self.data.shape()[0]
    }

    /// Positions it has room for.
    fn capacity(&self) -> usize {
        self.data.shape()[2]
    }

    /// The cache `value`, taken (copied only if something else still holds it), with room for
    /// this step's hypotheses and positions; `history`'s rows checked to be its own.
    fn take(value: TValue, step: Step, history: &[i64]) -> TractResult<Cache> {
        let data = value.into_tensor();
        let &[rows, h, capacity, d] = data.shape() else {
            bail!("a cache is [R, H, C, D], got {:?}", data.shape());
        };
        ensure!(
            h == step.h && d == step.d,
            "a cache of {h} heads of width {d} for {} heads of width {}",
            step.h,
            step.d
        );
        ensure!(
            step.p <= capacity,
            "a history of {} positions for a cache of {capacity}",
            step.p
        );
        if let Some(row) = history.iter().find(|&&r| r < 0 || r as usize >= rows) {
            bail!("the history names row {row} of a cache of {rows}");
        }
        let mut cache = Cache { data };
        cache.make_room(step)?;
        Ok(cache)
    }

    /// Grows to `step.b` rows and `step.p + step.s` positions where it has fewer, its capacity
    /// doubling, the past positions copied.
    fn make_room(&mut self, step: Step) -> TractResult<()> {
        let (old_rows, old_capacity) = (self.rows(), self.capacity());
        let (rows, needed) = (old_rows.max(step.b), step.p + step.s);
        let capacity = if needed <= old_capacity {
            old_capacity
        } else {
            needed.max(2 * old_capacity).max(FIRST_CAPACITY)
        };
        if rows == old_rows && capacity == old_capacity {
            return Ok(());
        }
        let mut grown = Tensor::zero::<f32>(&[rows, step.h, capacity, step.d])?;
        if old_capacity > 0 {
            let old = self.data.try_as_plain_ram()?;
            let mut new = grown.try_as_plain_ram_mut()?;
            let used = step.p * step.d;
            // The (row, head) blocks keep their order: rows are the leading axis.
            for (old, new) in old
                .as_slice::<f32>()?
                .chunks_exact(old_capacity * step.d)
                .zip(
                    new.as_slice_mut::<f32>()?
                        .chunks_exact_mut(capacity * step.d),
                )
            {
                new[..used].copy_from_slice(&old[..used]);
            }
        }
        self.data = grown;
        Ok(())
    }

    /// Writes `new` (`[B, H, S, D]`) at positions `p..p + s` of rows `0..b`.
    fn write(&mut self, new: &[f32], step: Step) -> TractResult<()> {
        let Step { s, d, p, .. } = step;
        let capacity = self.capacity();
        let mut data = self.data.try_as_plain_ram_mut()?;
        let data = data.as_slice_mut::<f32>()?;
        for (bh, new) in new.chunks_exact(s * d).enumerate() {
            data[(bh * capacity + p) * d..][..s * d].copy_from_slice(new);
        }
        Ok(())
    }

    /// The `d` values at `position` of hypothesis `b`, head `head` in the cache's `data` of
    /// room for `capacity` positions (`history` naming the row of a past position, the
    /// hypothesis's own row holding the new ones).
    #[inline(always)]
    fn at<'a>(
        data: &'a [f32],
        capacity: usize,
        history: &[i64],
        step: Step,
        (b, head, position): (usize, usize, usize),
    ) -> &'a [f32] {
        let row = if position < step.p {
            history[position * step.b + b] as usize
        } else {
            b
        };
        &data[((row * step.h + head) * capacity + position) * step.d..][..step.d]
    }

    /// `q · keys` over the past and new positions, the mask added to the new ones.
    fn scores(
        &self,
        q: &[f32],
        mask: &[f32],
        history: &[i64],
        step: Step,
    ) -> TractResult<Vec<f32>> {
        let Step { b, h, s, d, p } = step;
        let n = p + s;
        let (keys, capacity) = (floats(&self.data)?, self.capacity());
        let mut out = vec![0f32; b * h * s * n];
        crate::simd::widest(
            #[inline(always)]
            || {
                for (row, (q, out)) in q.chunks_exact(d).zip(out.chunks_exact_mut(n)).enumerate() {
                    let (bi, head, i) = (row / (h * s), row / s % h, row % s);
                    for (position, out) in out.iter_mut().enumerate() {
                        let key = Cache::at(keys, capacity, history, step, (bi, head, position));
                        *out = dot(q, key);
                        if position >= p {
                            *out += mask[i * s + position - p];
                        }
                    }
                }
            },
        );
        Ok(out)
    }

    /// `Σ probs · values` over the past and new positions, in their order.
    fn weighted(&self, probs: &[f32], history: &[i64], step: Step) -> TractResult<Vec<f32>> {
        let Step { b, h, s, d, p } = step;
        let n = p + s;
        let (values, capacity) = (floats(&self.data)?, self.capacity());
        let mut out = vec![0f32; b * h * s * d];
        crate::simd::widest(
            #[inline(always)]
            || {
                for (row, (probs, out)) in probs
                    .chunks_exact(n)
                    .zip(out.chunks_exact_mut(d))
                    .enumerate()
                {
                    let (bi, head) = (row / (h * s), row / s % h);
                    for (position, &weight) in probs.iter().enumerate() {
                        let value =
                            Cache::at(values, capacity, history, step, (bi, head, position));
                        for (o, &v) in out.iter_mut().zip(value) {
                            *o += weight * v;
                        }
                    }
                }
            },
        );
        Ok(out)
    }
}

/// `Σ a[k] · b[k]`: eight lanes over `k mod 8` summed in the order of `k`, then folded in pairs
/// (lane `j` with `j + 4`, then `j + 2`, then `j + 1`).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let (a_rest, b_rest) = (a8.remainder(), b8.remainder());
    for (a, b) in a8.zip(b8) {
        for j in 0..8 {
            lanes[j] += a[j] * b[j];
        }
    }
    for (j, (a, b)) in a_rest.iter().zip(b_rest).enumerate() {
        lanes[j] += a * b;
    }
    for width in [4, 2, 1] {
        for j in 0..width {
            lanes[j] += lanes[j + width];
        }
    }
    lanes[0]
}

/// Either op's step: takes `cache`, writes the step's `new` positions into it, then computes
/// over it; the values computed and the extended cache.
fn extended(
    cache: TValue,
    history: &Tensor,
    new: &Tensor,
    step: Step,
    compute: impl FnOnce(&Cache, &[i64]) -> TractResult<Vec<f32>>,
) -> TractResult<(Vec<f32>, TValue)> {
    let history = history.try_as_plain_ram()?;
    let history = history.as_slice::<i64>()?;
    let mut cache = Cache::take(cache, step, history)?;
    cache.write(floats(new)?, step)?;
    let out = compute(&cache, history)?;
    Ok((out, cache.data.into_tvalue()))
}

/// The cache's fact after an op: its heads and width are the input's; its rows and capacity
/// the op's to choose (it grows the cache), so symbols of their own, which tract binds from
/// the value (the same for every layer's keys and values: they grow alike).
fn grown_fact(cache: &ShapeFact, inputs: &[&TypedFact]) -> TypedFact {
    let scope = inputs
        .iter()
        .flat_map(|fact| fact.shape.iter())
        .flat_map(|dim| dim.symbols())
        .find_map(|symbol| symbol.scope());
    match scope {
        Some(scope) => f32::fact([
            scope.sym("vox_cache_rows").into(),
            cache[1].clone(),
            scope.sym("vox_cache_capacity").into(),
            cache[3].clone(),
        ]),
        None => f32::fact(cache.to_tvec()),
    }
}

impl Op for CachedScores {
    fn name(&self) -> StaticName {
        "CachedScores".into()
    }

    op_as_typed_op!();
}

impl EvalOp for CachedScores {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (q, k, mask, cache, history) = args_5!(inputs);
        let step = Step::of(q.shape(), history.shape())?;
        ensure!(
            k.shape() == q.shape() && mask.shape() == [step.s, step.s],
            "{SCORES_OP_TYPE}: queries {:?}, keys {:?}, mask {:?}",
            q.shape(),
            k.shape(),
            mask.shape()
        );
        let (scores, cache) = extended(cache, &history, &k, step, |cache, history| {
            cache.scores(floats(&q)?, floats(&mask)?, history, step)
        })?;
        let shape = [step.b, step.h, step.s, step.p + step.s];
        Ok(tvec!(
            Tensor::from_shape(&shape, &scores)?.into_tvalue(),
            cache
        ))
    }

    op_out_of_plan!();
}

impl TypedOp for CachedScores {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (q, cache, history) = (&inputs[0].shape, &inputs[3].shape, &inputs[4].shape);
        ensure!(
            q.rank() == 4 && cache.rank() == 4 && history.rank() == 2,
            "{SCORES_OP_TYPE} takes rank-4 queries and cache, a rank-2 history"
        );
        let positions = history[0].clone() + q[2].clone();
        Ok(tvec!(
            f32::fact([q[0].clone(), q[1].clone(), q[2].clone(), positions]),
            grown_fact(cache, inputs)
        ))
    }
}

impl Op for CachedWeighted {
    fn name(&self) -> StaticName {
        "CachedWeighted".into()
    }

    op_as_typed_op!();
}

impl EvalOp for CachedWeighted {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (probs, v, cache, history) = args_4!(inputs);
        let step = Step::of(v.shape(), history.shape())?;
        ensure!(
            probs.shape() == [step.b, step.h, step.s, step.p + step.s],
            "{WEIGHTED_OP_TYPE}: weights {:?} for values {:?} after {} positions",
            probs.shape(),
            v.shape(),
            step.p
        );
        let (out, cache) = extended(cache, &history, &v, step, |cache, history| {
            cache.weighted(floats(&probs)?, history, step)
        })?;
        Ok(tvec!(
            Tensor::from_shape(v.shape(), &out)?.into_tvalue(),
            cache
        ))
    }

    op_out_of_plan!();
}

impl TypedOp for CachedWeighted {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (v, cache) = (&inputs[1].shape, &inputs[2].shape);
        ensure!(
            v.rank() == 4 && cache.rank() == 4,
            "{WEIGHTED_OP_TYPE} takes rank-4 values and cache"
        );
        Ok(tvec!(f32::fact(v.to_tvec()), grown_fact(cache, inputs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    fn tensor(shape: &[usize], data: &[f32]) -> TValue {
        Tensor::from_shape(shape, data).unwrap().into_tvalue()
    }

    /// An op's two outputs.
    fn pair(outputs: TVec<TValue>) -> (TValue, TValue) {
        let mut outputs = outputs.into_iter();
        let first = outputs.next().unwrap();
        (first, outputs.next().unwrap())
    }

    fn floats_of(t: &TValue) -> Vec<f32> {
        floats(t).unwrap().to_vec()
    }

    /// What the ops stand for, kept the plain way: each hypothesis's own list of keys and
    /// values per head (`[hypothesis][head][position]`), copied on reordering.
    #[derive(Clone)]
    struct Copies {
        keys: Vec<Vec<Vec<Vec<f32>>>>,
        values: Vec<Vec<Vec<Vec<f32>>>>,
    }

    impl Copies {
        fn reorder(&mut self, rows: &[usize]) {
            self.keys = rows.iter().map(|&r| self.keys[r].clone()).collect();
            self.values = rows.iter().map(|&r| self.values[r].clone()).collect();
        }

        /// One step: appends `k`, `v` (`[B, H, S, D]`), returns the scores and the output.
        fn step(
            &mut self,
            q: &[f32],
            k: &[f32],
            v: &[f32],
            mask: &[f32],
            step: Step,
        ) -> (Vec<f32>, Vec<f32>) {
            let Step { b, h, s, d, p } = step;
            let at = |t: &[f32], bi: usize, hi: usize, i: usize| {
                t[((bi * h + hi) * s + i) * d..][..d].to_vec()
            };
            for bi in 0..b {
                for hi in 0..h {
                    for i in 0..s {
                        self.keys[bi][hi].push(at(k, bi, hi, i));
                        self.values[bi][hi].push(at(v, bi, hi, i));
                    }
                }
            }
            let (mut scores, mut out) = (Vec::new(), Vec::new());
            for bi in 0..b {
                for hi in 0..h {
                    for i in 0..s {
                        let q = at(q, bi, hi, i);
                        let row: Vec<f32> = (0..p + s)
                            .map(|pos| {
                                let score = dot(&q, &self.keys[bi][hi][pos]);
                                if pos >= p {
                                    score + mask[i * s + pos - p]
                                } else {
                                    score
                                }
                            })
                            .collect();
                        // Any weights will do for the weighted sum: the scores' exponentials.
                        let mut sum = vec![0f32; d];
                        for (pos, &w) in row.iter().enumerate() {
                            for (o, &x) in sum.iter_mut().zip(&self.values[bi][hi][pos]) {
                                *o += w.exp() * x;
                            }
                        }
                        scores.extend(row);
                        out.extend(sum);
                    }
                }
            }
            (scores, out)
        }
    }

    /// The ops' state as a session keeps it: the caches and the history.
    struct Ops {
        cache_k: TValue,
        cache_v: TValue,
        history: Vec<i64>,
        batch: usize,
    }

    impl Ops {
        fn reorder(&mut self, rows: &[usize]) {
            self.history = self
                .history
                .chunks_exact(self.batch)
                .flat_map(|position| rows.iter().map(|&r| position[r]))
                .collect();
            self.batch = rows.len();
        }

        fn step(
            &mut self,
            q: &[f32],
            k: &[f32],
            v: &[f32],
            mask: &[f32],
            step: Step,
        ) -> (Vec<f32>, Vec<f32>) {
            let Step { b, h, s, d, p } = step;
            let history = Tensor::from_shape(&[p, b], &self.history)
                .unwrap()
                .into_tvalue();
            let empty = tensor(&[0], &[]);
            let shape = [b, h, s, d];
            let scores = CachedScores
                .eval_out_of_plan(tvec!(
                    tensor(&shape, q),
                    tensor(&shape, k),
                    tensor(&[s, s], mask),
                    std::mem::replace(&mut self.cache_k, empty.clone()),
                    history.clone(),
                ))
                .unwrap()
                .unwrap();
            let (scores, cache_k) = pair(scores);
            let weights: Vec<f32> = floats_of(&scores).iter().map(|x| x.exp()).collect();
            let out = CachedWeighted
                .eval_out_of_plan(tvec!(
                    tensor(scores.shape(), &weights),
                    tensor(&shape, v),
                    std::mem::replace(&mut self.cache_v, empty),
                    history,
                ))
                .unwrap()
                .unwrap();
            let (out, cache_v) = pair(out);
            (self.cache_k, self.cache_v) = (cache_k, cache_v);
            for _ in 0..s {
                self.history.extend(0..b as i64);
            }
            (floats_of(&scores), floats_of(&out))
        }
    }

    #[test]
    fn steps_and_reorderings_give_the_copied_cache_s_bits() {
        // A prompt, then a beam of three over 80 steps (past the first capacity), reordered,
        // narrowed to two; widths with and without a remainder after the eight lanes.
        for d in [12, 64] {
            let h = 2;
            let mut copies = Copies {
                keys: vec![vec![Vec::new(); h]],
                values: vec![vec![Vec::new(); h]],
            };
            let empty = tensor(&[1, h, 0, d], &[]);
            let mut ops = Ops {
                cache_k: empty.clone(),
                cache_v: empty,
                history: Vec::new(),
                batch: 1,
            };
            let (mut p, mut b) = (0, 1);
            for n in 0..82u32 {
                let s = if n == 0 { 3 } else { 1 };
                match n {
                    1 => b = 3,
                    60 => b = 2,
                    _ => {}
                }
                let rows: Vec<usize> = match n {
                    0 => vec![0],
                    1 => vec![0; 3],
                    60 => vec![2, 0],
                    _ => (0..b).map(|i| (i + n as usize) % b).collect(),
                };
                copies.reorder(&rows);
                ops.reorder(&rows);
                let step = Step { b, h, s, d, p };
                let len = b * h * s * d;
                let (q, k, v) = (values(len, n), values(len, n + 100), values(len, n + 200));
                let mask: Vec<f32> = (0..s * s)
                    .map(|ij| {
                        if ij % s > ij / s {
                            f32::NEG_INFINITY
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let (want, got) = (
                    copies.step(&q, &k, &v, &mask, step),
                    ops.step(&q, &k, &v, &mask, step),
                );
                assert_eq!(got, want, "d {d}, step {n}");
                p += s;
            }
            assert!(ops.cache_k.shape()[2] >= p && ops.cache_k.shape()[0] == 3);
        }
    }

    #[test]
    fn a_cache_with_room_is_extended_where_it_is() {
        let (h, d) = (2, 8);
        let cache = tensor(&[1, h, 4, d], &values(h * 4 * d, 1));
        let address = floats(&cache).unwrap().as_ptr();
        let run = |cache: TValue, seed: u32| {
            let out = CachedScores
                .eval_out_of_plan(tvec!(
                    tensor(&[1, h, 1, d], &values(h * d, 2)),
                    tensor(&[1, h, 1, d], &values(h * d, seed)),
                    tensor(&[1, 1], &[0.0]),
                    cache,
                    Tensor::from_shape(&[2, 1], &[0i64, 0])
                        .unwrap()
                        .into_tvalue(),
                ))
                .unwrap()
                .unwrap();
            pair(out)
        };
        let (_, extended) = run(cache, 3);
        assert_eq!(floats(&extended).unwrap().as_ptr(), address);
        // Held elsewhere too, it is copied: the other holder's values stay as they were.
        let before = floats_of(&extended);
        let (_, copy) = run(extended.clone(), 4);
        assert_ne!(floats(&copy).unwrap().as_ptr(), address);
        assert_eq!(floats_of(&extended), before);
        assert_ne!(floats_of(&copy), before);
    }

    #[test]
    fn inconsistent_inputs_are_errors() {
        let (h, d) = (2, 4);
        let run = |cache: [usize; 4], history: ([usize; 2], [i64; 2]), probs: [usize; 4]| {
            let shape = [1, h, 1, d];
            let cache = tensor(&cache, &vec![0.0; cache.iter().product()]);
            let history = Tensor::from_shape(&history.0, &history.1)
                .unwrap()
                .into_tvalue();
            let scores = CachedScores.eval_out_of_plan(tvec!(
                tensor(&shape, &values(h * d, 1)),
                tensor(&shape, &values(h * d, 2)),
                tensor(&[1, 1], &[0.0]),
                cache.clone(),
                history.clone(),
            ));
            let weighted = CachedWeighted.eval_out_of_plan(tvec!(
                tensor(&probs, &vec![0.5; probs.iter().product()]),
                tensor(&shape, &values(h * d, 3)),
                cache,
                history,
            ));
            (scores.is_ok(), weighted.is_ok())
        };
        // The cache's shape, the history's shape and rows, the weights' shape; which op accepts:
        // consistent; a row the cache does not have; more past positions than its capacity;
        // another head count; another width; a history for another batch; weights of another
        // length.
        let cases = [
            ([1, h, 4, d], ([2, 1], [0, 0]), [1, h, 1, 3], (true, true)),
            ([1, h, 4, d], ([2, 1], [0, 1]), [1, h, 1, 3], (false, false)),
            ([1, h, 1, d], ([2, 1], [0, 0]), [1, h, 1, 3], (false, false)),
            ([1, 3, 4, d], ([2, 1], [0, 0]), [1, h, 1, 3], (false, false)),
            ([1, h, 4, 5], ([2, 1], [0, 0]), [1, h, 1, 3], (false, false)),
            ([1, h, 4, d], ([1, 2], [0, 0]), [1, h, 1, 3], (false, false)),
            ([1, h, 4, d], ([2, 1], [0, 0]), [1, h, 1, 4], (true, false)),
        ];
        for (cache, history, probs, ok) in cases {
            assert_eq!(
                run(cache, history, probs),
                ok,
                "{cache:?} {history:?} {probs:?}"
            );
        }
    }
}
