//! The decoder step's products with a window's cross-attention keys and values, streamed row
//! by row instead of packed.
//!
//! A step multiplies a few query rows (one per beam) by each layer's keys `[H, 64, frames]`,
//! then the scores by the values `[H, frames, 64]`. Both are the same for every step of a
//! window, but to tract they are inputs, so its matrix product repacks them into kernel
//! panels on every step (natively for a 64-row matrix-vector kernel, element by element):
//! 18 MB moved per step for tiny.en, the largest single cost of a greedy step. CTranslate2's
//! decoder (`layers/attention.cc`, `dot_product_attention`) calls a plain GEMM, whose vendor
//! kernels read such thin products without repacking. This op does the same: each output row
//! is `Σ_k a[k] · w[k]`, the rows of `w` read once per step for all query rows.
//!
//! Every output value is summed in the order of `k` with a multiply and an add (never fused),
//! one value per vector lane, so the portable, AVX2 and wasm SIMD builds give the same bits.
//!
//! In the in-memory ONNX graphs it is a node of type [`OP_TYPE`] (inputs `a [B, H, S, K]` and
//! `w [1 or B, H, K, N]`, output `[B, H, S, N]`), wired by tract as [`WindowProduct`].

use tract_onnx::tract_hir::internal::*;

use crate::runner::floats;

/// The ONNX op type of [`WindowProduct`], in [`crate::ops::DOMAIN`].
pub const OP_TYPE: &str = "VoxWindowProduct";

/// The parsed node; it has no attributes and nothing constant to read.
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
pub(crate) struct WindowProductNode;

impl Expansion for WindowProductNode {
    fn name(&self) -> StaticName {
        OP_TYPE.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        for proxy in [&inputs[0], &inputs[1], &outputs[0]] {
            s.equals(&proxy.datum_type, f32::datum_type())?;
            s.equals(&proxy.rank, 4)?;
        }
        s.given_2(&inputs[0].shape, &inputs[1].shape, move |s, a, w| {
            s.equals(
                &outputs[0].shape,
                tvec![a[0].clone(), a[1].clone(), a[2].clone(), w[3].clone()],
            )
        })?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, WindowProduct, inputs)
    }
}

/// `a [B, H, S, K] · w [1 or B, H, K, N] → [B, H, S, N]`, per head, `w` shared by every `B`
/// when its first axis is 1.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct WindowProduct;

impl WindowProduct {
    /// The product of `a` (`shape`) and `w` (`w_shape`), checked against each other.
    pub fn run(a: &[f32], shape: &[usize], w: &[f32], w_shape: &[usize]) -> TractResult<Vec<f32>> {
        let (&[b, h, s, k], &[wb, wh, wk, n]) = (shape, w_shape) else {
            bail!("{OP_TYPE} takes two rank-4 inputs, got {shape:?} and {w_shape:?}");
        };
        ensure!(
            (wb == 1 || wb == b) && wh == h && wk == k,
            "{OP_TYPE}: {shape:?} · {w_shape:?} do not match"
        );
        ensure!(a.len() == b * h * s * k && w.len() == wb * h * k * n);
        if b * h * s * n == 0 {
            return Ok(Vec::new());
        }
        // With one `w` for all of `B`, its heads meet every batch's rows at once: each row of
        // `w` is read once per call.
        let batches = if wb == 1 { 1 } else { b };
        let rows = b * s / batches;
        // The rows of `a` and `out` for one head: `rows` of them, `s` per batch entry.
        let row = |batch: usize, head: usize, i: usize| {
            (batch * rows / s + i / s) * h * s + head * s + i % s
        };
        // Each (batch, head) sums into its own block of `by_head`, so the blocks can be split
        // over tract's executor (the host's `--inference-threads`; one thread in a component):
        // every value is computed the same way whatever the split.
        let block = rows * n;
        let mut by_head = vec![0f32; batches * h * block];
        let heads = |first: usize, chunk: &mut [f32]| -> TractResult<()> {
            for (i, out_rows) in chunk.chunks_exact_mut(block).enumerate() {
                let (batch, head) = ((first + i) / h, (first + i) % h);
                let w = &w[(batch * h + head) * k * n..][..k * n];
                let a_rows: Vec<&[f32]> = (0..rows)
                    .map(|i| &a[row(batch, head, i) * k..][..k])
                    .collect();
                crate::simd::widest(
                    #[inline(always)]
                    || accumulate(&a_rows, w, n, out_rows),
                );
            }
            Ok(())
        };
        let macs = b * h * s * k * n;
        if macs < PARALLEL_MIN_MACS {
            heads(0, &mut by_head)?;
        } else {
            tract_onnx::prelude::multithread::par_chunks_mut(&mut by_head, block, macs, heads)?;
        }
        let mut out = vec![0f32; b * h * s * n];
        for (bh, values) in by_head.chunks_exact(block).enumerate() {
            let (batch, head) = (bh / h, bh % h);
            for (i, values) in values.chunks_exact(n).enumerate() {
                out[row(batch, head, i) * n..][..n].copy_from_slice(values);
            }
        }
        Ok(out)
    }
}

/// Multiply-adds from which a product's heads are split over tract's executor: a beam of two
/// or more hypotheses (tiny.en: 1.2 M for two, 2.9 M for five), not greedy decoding's single
/// row, whose 0.6 M take less than waking a second thread costs.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// `out[r] = Σ_k a[r][k] · w[k]` for each row `r`, `w` as `k` rows of `n`.
#[inline(always)]
fn accumulate(a: &[&[f32]], w: &[f32], n: usize, out: &mut [f32]) {
    for (kk, w) in w.chunks_exact(n).enumerate() {
        for (a, out) in a.iter().zip(out.chunks_exact_mut(n)) {
            let x = a[kk];
            for (o, &w) in out.iter_mut().zip(w) {
                *o += x * w;
            }
        }
    }
}

impl Op for WindowProduct {
    fn name(&self) -> StaticName {
        "WindowProduct".into()
    }

    op_as_typed_op!();
}

impl EvalOp for WindowProduct {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, w) = args_2!(inputs);
        let out = WindowProduct::run(floats(&a)?, a.shape(), floats(&w)?, w.shape())?;
        let shape = [a.shape()[0], a.shape()[1], a.shape()[2], w.shape()[3]];
        Ok(tvec!(Tensor::from_shape(&shape, &out)?.into_tvalue()))
    }

    op_out_of_plan!();
}

impl TypedOp for WindowProduct {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (a, w) = (&inputs[0].shape, &inputs[1].shape);
        ensure!(
            a.rank() == 4 && w.rank() == 4,
            "{OP_TYPE} takes rank-4 inputs"
        );
        Ok(tvec!(f32::fact([
            a[0].clone(),
            a[1].clone(),
            a[2].clone(),
            w[3].clone()
        ])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product written out, in the same order of `k`.
    fn reference(a: &[f32], [b, h, s, k]: [usize; 4], w: &[f32], wb: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0f32; b * h * s * n];
        for bi in 0..b {
            let wi = if wb == 1 { 0 } else { bi };
            for hi in 0..h {
                for si in 0..s {
                    for ni in 0..n {
                        let mut sum = 0f32;
                        for ki in 0..k {
                            sum += a[((bi * h + hi) * s + si) * k + ki]
                                * w[((wi * h + hi) * k + ki) * n + ni];
                        }
                        out[((bi * h + hi) * s + si) * n + ni] = sum;
                    }
                }
            }
        }
        out
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn gives_the_written_out_products_bit_for_bit() {
        // Shared `w` (the window's keys for 5 beams), one per batch entry, uneven sizes.
        for (shape, wb, n) in [
            ([5, 3, 1, 64], 1, 37),
            ([5, 3, 2, 19], 1, 64),
            ([2, 2, 3, 8], 2, 13),
            ([1, 1, 1, 1], 1, 1),
        ] {
            let [b, h, s, k] = shape;
            let a = values(b * h * s * k, 7);
            let w = values(wb * h * k * n, 11);
            let got = WindowProduct::run(&a, &shape, &w, &[wb, h, k, n]).unwrap();
            assert_eq!(
                got,
                reference(&a, shape, &w, wb, n),
                "{shape:?} · w[{wb}..{n}]"
            );
        }
    }

    #[test]
    fn threads_change_no_bit() {
        use tract_linalg::multithread::{Executor, multithread_tract_scope};
        // Five beams against a window's keys: above the threshold, split over the heads.
        let (shape, n) = ([5, 6, 1, 64], 1500);
        let a = values(5 * 6 * 64, 3);
        let w = values(6 * 64 * n, 5);
        let run = || WindowProduct::run(&a, &shape, &w, &[1, 6, 64, n]).unwrap();
        let threaded = multithread_tract_scope(Executor::multithread(3), run);
        assert_eq!(threaded, run());
        assert_eq!(threaded, reference(&a, shape, &w, 1, n));
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let a = values(16, 1); // [2, 2, 1, 4]
        let w = values(3 * 2 * 4 * 5, 2);
        assert!(WindowProduct::run(&a, &[2, 2, 1, 4], &w, &[3, 2, 4, 5]).is_err());
        assert!(WindowProduct::run(&a, &[2, 2, 1, 4], &w[..40], &[1, 2, 5, 4]).is_err());
        // Empty products are empty, not a division by zero.
        let empty = WindowProduct::run(&[], &[0, 2, 1, 4], &[], &[0, 2, 4, 5]).unwrap();
        assert!(empty.is_empty());
        let empty = WindowProduct::run(&a, &[2, 2, 1, 4], &[], &[1, 2, 4, 0]).unwrap();
        assert!(empty.is_empty());
    }
}
