//! int8 linear layers as CTranslate2's `compute_type="int8"` runs them: weights quantized per
//! output row at load, activations per row at run time, integer dot products, one rescale.
//!
//! CTranslate2 (`ops/quantize.cc`, `primitives::quantize`, `ops/gemm.cc` with int8 inputs and
//! `ops/dequantize.cc`) keeps for every row `r` of a weight `W` the scale `s_r = 127 / max|W_r|`
//! and `round(W_r · s_r)` as i8; at run time each activation row `x` gets `s_x = 127 / max|x|`
//! the same way, and `y_r = (Σ q(x)·q(W_r)) / (s_x · s_r) + b_r`. The decoder's step reads each
//! weight once per token, so a quarter of the bytes is most of the gain there; the encoder's
//! 1,500 rows per window gain from the integer products themselves, natively on AVX-512 VNNI
//! (`vpdpbusd`, as oneDNN's and CTranslate2's x86 int8 GEMM). The sums are exact integers, so
//! every kernel (VNNI, AVX2, wasm SIMD, scalar) gives the same bits.
//!
//! The op enters the in-memory ONNX graphs as a node of type [`OP_TYPE`] (inputs: activations,
//! i8 weight `[out, in]`, f32 row scales `[out]`, optional f32 bias `[out]`), registered on the
//! ONNX parser by [`crate::ops::onnx`]; tract wires it as [`Int8Linear`], a typed op holding the
//! weights.

use std::sync::Arc;

use tract_onnx::tract_hir::internal::*;

use crate::runner::floats;

/// How the linear layers (encoder and decoder) compute, named as faster-whisper's `compute_type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ComputeType {
    /// f32 weights (the checkpoint's float16 widened): CTranslate2's float32 results.
    #[default]
    Float32,
    /// int8 weights per output row, activations per row: CTranslate2's `int8`.
    Int8,
}

impl ComputeType {
    /// The name faster-whisper gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            ComputeType::Float32 => "float32",
            ComputeType::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for ComputeType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "float32" | "f32" => Ok(ComputeType::Float32),
            "int8" => Ok(ComputeType::Int8),
            other => Err(format!(
                "unknown compute type `{other}` (expected `int8` or `float32`)"
            )),
        }
    }
}

/// The ONNX node type of an int8 linear layer in Vox's graphs.
pub const OP_TYPE: &str = "VoxInt8Linear";
/// The ONNX node type of a row lookup in an int8 table (the token embeddings, which CTranslate2
/// quantizes with the projection they are tied to): inputs i8 table `[rows, width]`, f32 row
/// scales `[rows]`, i64 indices; output the dequantized rows, `indices.shape + [width]`.
pub const GATHER_OP_TYPE: &str = "VoxInt8Gather";

/// A row of `(out, in)` weights quantized as CTranslate2 does: `(round(w · s), s)` with
/// `s = 127 / max|w|` (1 for an all-zero row, as CTranslate2's guard against division by zero).
pub fn quantize_row(row: &[f32], out: &mut [i8]) -> f32 {
    let scale = row_scale(row);
    for (q, v) in out.iter_mut().zip(row) {
        *q = quantize(*v, scale) as i8;
    }
    scale
}

/// `127 / max|x|` over a row, 1 for an all-zero one. NaNs are skipped, as `f32::max` skips
/// them; the comparison is written out so the compiler emits a plain vector maximum.
#[inline]
fn row_scale(row: &[f32]) -> f32 {
    // Sixteen running maxima, one per lane, then theirs: a maximum does not depend on the
    // order it is taken in, and lanes let the compiler vectorise what a single running value
    // would keep scalar.
    let max = |m: f32, v: &f32| {
        let a = v.abs();
        if a > m { a } else { m }
    };
    let mut lanes = [0f32; 16];
    let mut chunks = row.chunks_exact(16);
    for chunk in &mut chunks {
        for (m, v) in lanes.iter_mut().zip(chunk) {
            *m = max(*m, v);
        }
    }
    let amax = chunks.remainder().iter().fold(0f32, max);
    let amax = lanes.iter().fold(amax, max);
    if amax > 0.0 { 127.0 / amax } else { 1.0 }
}

/// `round(v · scale)` within ±127, rounding halves away from zero as `f32::round` does, but
/// without its library call (baseline x86-64 has no rounding instruction): truncation and a
/// correction, exact for every value in range, and vectorised by the compiler.
#[inline]
fn quantize(v: f32, scale: f32) -> i32 {
    // `max`/`min` (not `clamp`) map NaN to -127: the value is then finite and within ±127, so
    // the truncation needs no saturation, which `as i32` would add lane by lane (a tenth of a
    // request's time on the host before this).
    #[allow(clippy::manual_clamp)] // `clamp` keeps a NaN, which the truncation must not see
    let x = (v * scale).max(-127.0).min(127.0);
    // SAFETY: `x` is finite and within ±127, representable as i32.
    let t: i32 = unsafe { x.to_int_unchecked() };
    let frac = x - t as f32;
    t + (frac >= 0.5) as i32 - (frac <= -0.5) as i32
}

/// Input `i` of node `op`, which must be a constant (a weight) when the node is wired.
fn const_input(
    model: &TypedModel,
    inputs: &[OutletId],
    i: usize,
    op: &str,
) -> TractResult<Arc<Tensor>> {
    model
        .outlet_fact(inputs[i])?
        .konst
        .clone()
        .with_context(|| format!("{op} input {i} must be a constant"))
}

/// The parsed lookup node; wiring it reads its constant table into an [`Int8Gather`].
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
pub(crate) struct Int8GatherNode;

impl Expansion for Int8GatherNode {
    fn name(&self) -> StaticName {
        GATHER_OP_TYPE.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, i8::datum_type())?;
        s.equals(&inputs[2].datum_type, i64::datum_type())?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.given_2(
            &inputs[2].shape,
            &inputs[0].shape,
            move |s, indices, table| {
                let mut shape = indices.clone();
                shape.push(table[1].clone());
                s.equals(&outputs[0].shape, shape)
            },
        )?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let konst = |i| const_input(model, inputs, i, GATHER_OP_TYPE);
        let op = Int8Gather {
            table: Int8Linear::in_rows(konst(0)?, &*konst(1)?)?,
        };
        model.wire_node(prefix, op, &[inputs[2]])
    }
}

/// Rows of an int8 table, dequantized: CTranslate2's embedding lookup on int8 weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Int8Gather {
    table: Int8Linear,
}

impl Op for Int8Gather {
    fn name(&self) -> StaticName {
        "Int8Gather".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Int8Gather {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let indices = args_1!(inputs);
        let t = &self.table;
        // One layout only where there is no VNNI.
        #[cfg_attr(
            not(target_arch = "x86_64"),
            allow(clippy::infallible_destructuring_match)
        )]
        let w = match &t.weight {
            Weights::Rows(w) => w,
            #[cfg(target_arch = "x86_64")]
            Weights::Vnni(_) => bail!("an int8 table is read in rows"),
        };
        let w = w.try_as_plain_ram()?.as_slice::<i8>()?;
        let ids = indices.try_as_plain_ram()?.as_slice::<i64>()?;
        let mut out = Vec::with_capacity(ids.len() * t.depth);
        for &id in ids {
            let r = usize::try_from(id)
                .ok()
                .filter(|&r| r < t.rows)
                .with_context(|| format!("index {id} outside a table of {} rows", t.rows))?;
            let inverse = t.inverse_scales[r];
            out.extend(
                w[r * t.depth..(r + 1) * t.depth]
                    .iter()
                    .map(|&q| q as f32 * inverse),
            );
        }
        let mut shape: TVec<usize> = indices.shape().into();
        shape.push(t.depth);
        Ok(tvec!(Tensor::from_shape(&shape, &out)?.into_tvalue()))
    }

    op_out_of_plan!();
}

impl TypedOp for Int8Gather {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape = inputs[0].shape.to_tvec();
        shape.push(self.table.depth.to_dim());
        Ok(tvec!(f32::fact(&shape)))
    }
}

/// The parsed node; wiring it reads its constant weights into an [`Int8Linear`].
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
pub(crate) struct Int8LinearNode;

impl Expansion for Int8LinearNode {
    fn name(&self) -> StaticName {
        OP_TYPE.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        if inputs.len() != 3 && inputs.len() != 4 {
            bail!("{OP_TYPE} takes 3 or 4 inputs, got {}", inputs.len());
        }
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, f32::datum_type())?;
        s.equals(&inputs[1].datum_type, i8::datum_type())?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&inputs[0].rank, &outputs[0].rank)?;
        s.given_2(
            &inputs[0].shape,
            &inputs[1].shape,
            move |s, x_shape, w_shape| {
                let mut shape = x_shape.clone();
                if let (Some(last), Some(rows)) = (shape.last_mut(), w_shape.first()) {
                    *last = rows.clone();
                }
                s.equals(&outputs[0].shape, shape)
            },
        )?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let konst = |i| const_input(model, inputs, i, OP_TYPE);
        let weight = konst(1)?;
        let scales = konst(2)?;
        let bias = if inputs.len() > 3 {
            Some(konst(3)?)
        } else {
            None
        };
        let op = Int8Linear::new(weight, &scales, bias.as_deref())?;
        model.wire_node(prefix, op, &[inputs[0]])
    }
}

/// `y = x · Wᵀ + b` over the last axis of `x`, with `W` held as i8 rows and their scales.
#[derive(Clone, Debug)]
pub struct Int8Linear {
    weight: Weights,
    /// `1 / s_r` per output row.
    inverse_scales: Arc<Vec<f32>>,
    bias: Option<Arc<Vec<f32>>>,
    rows: usize,
    depth: usize,
}

/// An [`Int8Linear`]'s weights, in the layout its products read.
#[derive(Clone, Debug)]
enum Weights {
    /// `[out, in]` i8, row-major.
    Rows(Arc<Tensor>),
    /// Laid out for AVX-512 VNNI, where the CPU has it (natively only).
    #[cfg(target_arch = "x86_64")]
    Vnni(Arc<vnni::Weights>),
}

impl PartialEq for Int8Linear {
    fn eq(&self, other: &Self) -> bool {
        match (&self.weight, &other.weight) {
            (Weights::Rows(a), Weights::Rows(b)) => Arc::ptr_eq(a, b),
            #[cfg(target_arch = "x86_64")]
            (Weights::Vnni(a), Weights::Vnni(b)) => Arc::ptr_eq(a, b),
            #[cfg(target_arch = "x86_64")]
            _ => false,
        }
    }
}
impl Eq for Int8Linear {}

impl Int8Linear {
    /// The op over `weight` (`[out, in]` i8), `scales` (`[out]`, `s_r`) and `bias` (`[out]`),
    /// its weights laid out for the fastest products this CPU has.
    pub fn new(
        weight: Arc<Tensor>,
        scales: &Tensor,
        bias: Option<&Tensor>,
    ) -> TractResult<Int8Linear> {
        #[cfg(target_arch = "x86_64")]
        let packed = vnni::available();
        #[cfg(not(target_arch = "x86_64"))]
        let packed = false;
        Int8Linear::laid_out(weight, scales, bias, packed)
    }

    /// The same with the weights kept in rows (a table's lookup reads them so).
    fn in_rows(weight: Arc<Tensor>, scales: &Tensor) -> TractResult<Int8Linear> {
        Int8Linear::laid_out(weight, scales, None, false)
    }

    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
    fn laid_out(
        weight: Arc<Tensor>,
        scales: &Tensor,
        bias: Option<&Tensor>,
        packed: bool,
    ) -> TractResult<Int8Linear> {
        ensure!(weight.datum_type() == i8::datum_type() && weight.rank() == 2);
        let (rows, depth) = (weight.shape()[0], weight.shape()[1]);
        let scales = scales.cast_to::<f32>()?;
        let scales = floats(&scales)?.to_vec();
        ensure!(
            scales.len() == rows,
            "{OP_TYPE}: {} scales for {rows} rows",
            scales.len()
        );
        let bias = match bias {
            Some(b) => {
                let b = b.cast_to::<f32>()?;
                let b = floats(&b)?.to_vec();
                ensure!(
                    b.len() == rows,
                    "{OP_TYPE}: {} biases for {rows} rows",
                    b.len()
                );
                Some(Arc::new(b))
            }
            None => None,
        };
        #[cfg(target_arch = "x86_64")]
        let weight = match packed {
            true => {
                let w = weight.try_as_plain_ram()?.as_slice::<i8>()?;
                Weights::Vnni(Arc::new(vnni::Weights::pack(w, rows, depth)))
            }
            false => Weights::Rows(weight),
        };
        #[cfg(not(target_arch = "x86_64"))]
        let weight = Weights::Rows(weight);
        Ok(Int8Linear {
            weight,
            inverse_scales: Arc::new(scales.iter().map(|s| 1.0 / s).collect()),
            bias,
            rows,
            depth,
        })
    }

    /// `x` holds `m` rows of `depth`; the result `m` rows of `rows`.
    fn run(&self, x: &[f32]) -> TractResult<Vec<f32>> {
        let (k, n) = (self.depth, self.rows);
        let m = x.len() / k;
        if m == 0 {
            return Ok(Vec::new());
        }
        let w = match &self.weight {
            Weights::Rows(w) => w.try_as_plain_ram()?.as_slice::<i8>()?,
            #[cfg(target_arch = "x86_64")]
            Weights::Vnni(packed) => return self.run_vnni(packed, x, m),
        };
        // Activations quantized per row, widened to i16 once for the dot products.
        let mut xq = vec![0i16; m * k];
        let x_inverse = quantize_rows(x, k, &mut xq, |q| q as i16);
        // Output rows in blocks of BLOCK, every activation row against one block: the block's
        // weights stay in cache while the activations stream. The result is built transposed,
        // `[n][m]`, so the output rows can be split over tract's executor (the host's
        // `--inference-threads`; one thread in a component) on whole rows: each value is
        // computed the same way whatever the split, so the threads change no bit of it.
        let mut yt = vec![0f32; n * m];
        let rows = |first: usize, chunk: &mut [f32]| -> TractResult<()> {
            let mut acc = [0i32; BLOCK];
            let count = chunk.len() / m;
            for b0 in (0..count).step_by(BLOCK) {
                let b1 = (b0 + BLOCK).min(count);
                let (r0, r1) = (first + b0, first + b1);
                let wb = &w[r0 * k..r1 * k];
                for (i, xr) in xq.chunks_exact(k).enumerate() {
                    dots(xr, wb, k, &mut acc[..r1 - r0]);
                    for (j, &a) in acc[..r1 - r0].iter().enumerate() {
                        let mut out = a as f32 * (x_inverse[i] * self.inverse_scales[r0 + j]);
                        if let Some(b) = &self.bias {
                            out += b[r0 + j];
                        }
                        chunk[(b0 + j) * m + i] = out;
                    }
                }
            }
            Ok(())
        };
        // A product too small to pay for waking the pool's threads (a token step's attention
        // projections) runs here; the logits projection and a prompt's many rows split.
        if m * n * k < PARALLEL_MIN_MACS {
            rows(0, &mut yt)?;
        } else {
            tract_onnx::prelude::multithread::par_chunks_mut(&mut yt, m, n * k, rows)?;
        }
        let mut y = vec![0f32; m * n];
        for (r, col) in yt.chunks_exact(m).enumerate() {
            for (i, &v) in col.iter().enumerate() {
                y[i * n + r] = v;
            }
        }
        Ok(y)
    }
}

impl Int8Linear {
    /// [`Int8Linear::run`] on AVX-512 VNNI: the same quantized activations, offset to u8 as
    /// `vpdpbusd` multiplies them (oneDNN's and CTranslate2's int8 GEMM on x86 do the same),
    /// the same exact integer sums, the same rescale: the same bits as the other paths. The
    /// activation rows split over tract's executor.
    #[cfg(target_arch = "x86_64")]
    fn run_vnni(&self, packed: &vnni::Weights, x: &[f32], m: usize) -> TractResult<Vec<f32>> {
        let (k, n) = (self.depth, self.rows);
        let kp = packed.depth();
        let mut y = vec![0f32; m * n];
        let rows = |first: usize, chunk: &mut [f32]| -> TractResult<()> {
            let count = chunk.len() / n;
            // Each thread quantizes its own activation rows. Padding columns stay 128, a zero
            // once the offset is taken back.
            let mut xu = vec![128u8; count * kp];
            let x_inverse = quantize_rows(&x[first * k..(first + count) * k], k, &mut xu, |q| {
                (q + 128) as u8
            });
            let sums = packed.products(&xu, count);
            for (i, (out, acc)) in chunk
                .chunks_exact_mut(n)
                .zip(sums.chunks_exact(packed.width()))
                .enumerate()
            {
                let x_inverse = x_inverse[i];
                for ((out, &a), w_inverse) in out.iter_mut().zip(acc).zip(&*self.inverse_scales) {
                    *out = a as f32 * (x_inverse * w_inverse);
                }
                if let Some(bias) = &self.bias {
                    for (out, b) in out.iter_mut().zip(&**bias) {
                        *out += b;
                    }
                }
            }
            Ok(())
        };
        if m * n * k < PARALLEL_MIN_MACS {
            rows(0, &mut y)?;
        } else {
            tract_onnx::prelude::multithread::par_chunks_mut(&mut y, n, m * n * k, rows)?;
        }
        Ok(y)
    }
}

/// The `m` rows of `k` activations in `x` quantized per row as [`quantize_row`] does, each
/// value stored by `store` into its row of `out` (rows of `out.len() / m`, the padding left
/// as it is); the rows' `1 / scale`.
fn quantize_rows<T>(x: &[f32], k: usize, out: &mut [T], store: impl Fn(i32) -> T) -> Vec<f32> {
    // Plain loops: a `collect` would run them in a library function the AVX2 build does not
    // inline.
    crate::simd::widest(
        #[inline(always)]
        || {
            let rows = x.len() / k;
            let stride = out.len() / rows;
            let mut inverse = Vec::with_capacity(rows);
            for (row, q) in x.chunks_exact(k).zip(out.chunks_exact_mut(stride)) {
                let scale = row_scale(row);
                for (q, v) in q.iter_mut().zip(row) {
                    *q = store(quantize(*v, scale));
                }
                inverse.push(1.0 / scale);
            }
            inverse
        },
    )
}

/// Multiply-adds from which an op's output rows are split over tract's executor.
const PARALLEL_MIN_MACS: usize = 1 << 22;

/// Output rows computed together against one activation row.
const BLOCK: usize = 4;

/// `acc[j] = x · w[j]` for the `acc.len()` rows of `w` (each `k` long).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dots(x: &[i16], w: &[i8], k: usize, acc: &mut [i32]) {
    use core::arch::wasm32::*;
    let full = k / 16 * 16;
    if acc.len() == BLOCK {
        // Four rows at once: the activations are loaded once per 16 columns.
        let mut s = [i32x4_splat(0); BLOCK];
        let mut c = 0;
        while c < full {
            // SAFETY: c + 16 <= k, and x holds k i16s and every row of w k i8s.
            unsafe {
                let xl = v128_load(x.as_ptr().add(c) as *const v128);
                let xh = v128_load(x.as_ptr().add(c + 8) as *const v128);
                for (j, s) in s.iter_mut().enumerate() {
                    let wv = v128_load(w.as_ptr().add(j * k + c) as *const v128);
                    let lo = i32x4_dot_i16x8(xl, i16x8_extend_low_i8x16(wv));
                    let hi = i32x4_dot_i16x8(xh, i16x8_extend_high_i8x16(wv));
                    *s = i32x4_add(*s, i32x4_add(lo, hi));
                }
            }
            c += 16;
        }
        for (a, s) in acc.iter_mut().zip(s) {
            *a = i32x4_extract_lane::<0>(s)
                + i32x4_extract_lane::<1>(s)
                + i32x4_extract_lane::<2>(s)
                + i32x4_extract_lane::<3>(s);
        }
        for (j, a) in acc.iter_mut().enumerate() {
            *a += tail_dot(&x[full..], &w[j * k + full..(j + 1) * k]);
        }
    } else {
        for (j, a) in acc.iter_mut().enumerate() {
            *a = tail_dot(x, &w[j * k..(j + 1) * k]);
        }
    }
}

/// `acc[j] = x · w[j]` for the `acc.len()` rows of `w` (each `k` long), natively: AVX2's
/// `vpmaddwd` over 16 columns at a time where the CPU has it (every x86-64 CPU of the last
/// decade; the host's default build targets baseline x86-64, so it is detected at run time),
/// else the portable loop. Integer sums are exact, so every path gives the same bits.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn dots(x: &[i16], w: &[i8], k: usize, acc: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present, checked just above.
        unsafe { dots_avx2(x, w, k, acc) };
        return;
    }
    for (j, a) in acc.iter_mut().enumerate() {
        *a = tail_dot(x, &w[j * k..(j + 1) * k]);
    }
}

/// [`dots`] with AVX2: up to [`BLOCK`] rows at once, the activations loaded once per 16
/// columns, each row's i8 weights widened to i16 and multiplied-and-added in pairs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dots_avx2(x: &[i16], w: &[i8], k: usize, acc: &mut [i32]) {
    use std::arch::x86_64::*;
    let full = k / 16 * 16;
    let rows = acc.len();
    debug_assert!(rows <= BLOCK && x.len() >= k && w.len() >= rows * k);
    let mut s = [_mm256_setzero_si256(); BLOCK];
    let mut c = 0;
    while c < full {
        // SAFETY: c + 16 <= k; x holds k i16s and each of the `rows` rows of w k i8s.
        unsafe {
            let xv = _mm256_loadu_si256(x.as_ptr().add(c) as *const __m256i);
            for (j, s) in s.iter_mut().enumerate().take(rows) {
                let wv = _mm_loadu_si128(w.as_ptr().add(j * k + c) as *const __m128i);
                let prod = _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(wv));
                *s = _mm256_add_epi32(*s, prod);
            }
        }
        c += 16;
    }
    for (j, a) in acc.iter_mut().enumerate() {
        let mut lanes = [0i32; 8];
        // SAFETY: `lanes` is 32 bytes, an unaligned store's size.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, s[j]) };
        *a = lanes.iter().sum::<i32>() + tail_dot(&x[full..k], &w[j * k + full..(j + 1) * k]);
    }
}

fn tail_dot(x: &[i16], w: &[i8]) -> i32 {
    x.iter().zip(w).map(|(&x, &w)| x as i32 * w as i32).sum()
}

/// int8 products on AVX-512 VNNI (`vpdpbusd`: 64 u8 × i8 products summed four by four into 16
/// i32 lanes per instruction), natively on the CPUs that have it (detected at run time).
#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    /// Output rows per panel: one 512-bit register of i32 sums.
    const PANEL: usize = 16;
    /// Activation rows computed together against one panel: a beam of up to 8 hypotheses in
    /// one pass (two accumulators each, 16 of the 32 vector registers).
    const ROWS: usize = 8;

    /// Whether this CPU runs [`Weights::products`].
    pub fn available() -> bool {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
    }

    /// `[out, in]` i8 weights in panels of [`PANEL`] output rows, each `[in/4][PANEL][4]` (a
    /// register's worth per four columns), zero-padded to whole panels and to a multiple of 4
    /// columns; and per output row `128 · Σ w`, what the activations' offset to u8 adds.
    #[derive(Debug)]
    pub struct Weights {
        panels: Vec<i8>,
        offsets: Vec<i32>,
        rows: usize,
        depth: usize,
    }

    impl Weights {
        pub fn pack(w: &[i8], rows: usize, depth: usize) -> Weights {
            let kp = depth.div_ceil(4) * 4;
            let n_panels = rows.div_ceil(PANEL);
            let mut panels = vec![0i8; n_panels * PANEL * kp];
            let mut offsets = vec![0i32; n_panels * PANEL];
            for (r, row) in w.chunks_exact(depth).enumerate().take(rows) {
                let (panel, lane) = (r / PANEL, r % PANEL);
                let base = panel * PANEL * kp;
                for (c, &v) in row.iter().enumerate() {
                    panels[base + (c / 4) * PANEL * 4 + lane * 4 + c % 4] = v;
                }
                offsets[r] = 128 * row.iter().map(|&v| v as i32).sum::<i32>();
            }
            Weights {
                panels,
                offsets,
                rows,
                depth: kp,
            }
        }

        /// Columns per activation row the products take (the padded depth).
        pub fn depth(&self) -> usize {
            self.depth
        }

        /// The output rows, padded to whole panels: the stride of [`Weights::products`].
        pub fn width(&self) -> usize {
            self.offsets.len()
        }

        /// For `count` activation rows `xu` (each [`Weights::depth`] u8, the i8 values plus
        /// 128), every row's exact integer products with every weight row, `[count][width]`
        /// (the first `rows` of each are the real ones).
        pub fn products(&self, xu: &[u8], count: usize) -> Vec<i32> {
            debug_assert!(self.rows <= self.width() && xu.len() == count * self.depth);
            let mut out = vec![0i32; count * self.width()];
            // SAFETY: `available()` held when these weights were packed (the op is built
            // only then), and the buffers have the sizes `kernel` reads and writes.
            unsafe { kernel(&self.panels, &self.offsets, xu, count, self.depth, &mut out) };
            out
        }
    }

    /// Panel by panel (its weights stay in L1 while the activations stream), up to [`ROWS`]
    /// activation rows at a time: per four columns one load of the panel, one broadcast of
    /// each row's four u8, one `vpdpbusd` per row. Each row sums into two registers, even and
    /// odd groups of four columns, added at the end: a lone row (greedy decoding's step) waits
    /// on half as long a chain of dependent `vpdpbusd`s, and integer sums are exact in any
    /// order, so the bits are the same.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn kernel(
        panels: &[i8],
        offsets: &[i32],
        xu: &[u8],
        count: usize,
        kp: usize,
        out: &mut [i32],
    ) {
        let width = offsets.len();
        let groups = kp / 4;
        for panel in 0..width / PANEL {
            let wp = &panels[panel * PANEL * kp..(panel + 1) * PANEL * kp];
            // SAFETY: the panel's offsets are PANEL i32s within `offsets`.
            let offset = unsafe { _mm512_loadu_si512(offsets.as_ptr().add(panel * PANEL).cast()) };
            for r0 in (0..count).step_by(ROWS) {
                let rows = ROWS.min(count - r0);
                let mut even = [_mm512_setzero_si512(); ROWS];
                let mut odd = [_mm512_setzero_si512(); ROWS];
                let step = |acc: &mut [__m512i; ROWS], k4: usize| {
                    // SAFETY: k4 < kp/4, so the 64 bytes at k4·64 are within the panel, and
                    // each row's four bytes at 4·k4 within its kp.
                    unsafe {
                        let wv = _mm512_loadu_si512(wp.as_ptr().add(k4 * 64).cast());
                        for (i, acc) in acc.iter_mut().enumerate().take(rows) {
                            let at = xu.as_ptr().add((r0 + i) * kp + 4 * k4);
                            let a = _mm512_set1_epi32(at.cast::<i32>().read_unaligned());
                            *acc = _mm512_dpbusd_epi32(*acc, a, wv);
                        }
                    }
                };
                for k4 in (0..groups - groups % 2).step_by(2) {
                    step(&mut even, k4);
                    step(&mut odd, k4 + 1);
                }
                if groups % 2 == 1 {
                    step(&mut even, groups - 1);
                }
                for (i, (e, o)) in even.iter().zip(&odd).enumerate().take(rows) {
                    let exact = _mm512_sub_epi32(_mm512_add_epi32(*e, *o), offset);
                    // SAFETY: row r0 + i < count has `width` i32s; this panel's PANEL of them.
                    unsafe {
                        let at = out.as_mut_ptr().add((r0 + i) * width + panel * PANEL);
                        _mm512_storeu_si512(at.cast(), exact);
                    }
                }
            }
        }
    }
}

impl Op for Int8Linear {
    fn name(&self) -> StaticName {
        "Int8Linear".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{}x{} i8", self.rows, self.depth)])
    }

    op_as_typed_op!();
}

impl EvalOp for Int8Linear {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        ensure!(x.shape().last() == Some(&self.depth));
        let y = self.run(floats(&x)?)?;
        let mut shape: TVec<usize> = x.shape().into();
        *shape.last_mut().expect("rank checked") = self.rows;
        Ok(tvec!(Tensor::from_shape(&shape, &y)?.into_tvalue()))
    }

    op_out_of_plan!();
}

impl TypedOp for Int8Linear {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape = inputs[0].shape.to_tvec();
        ensure!(shape.last() == Some(&self.depth.to_dim()));
        *shape.last_mut().expect("rank checked") = self.rows.to_dim();
        Ok(tvec!(f32::fact(&shape)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_product_is_close_to_the_float_one() {
        let (m, k, n) = (3, 40, 9);
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
            .collect();
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 31.0)
            .collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let mut q = vec![0i8; n * k];
        let scales: Vec<f32> = w
            .chunks_exact(k)
            .zip(q.chunks_exact_mut(k))
            .map(|(r, q)| quantize_row(r, q))
            .collect();
        let weight = Arc::new(Tensor::from_shape(&[n, k], &q).unwrap());
        let op = Int8Linear::new(
            weight,
            &Tensor::from_shape(&[n], &scales).unwrap(),
            Some(&Tensor::from_shape(&[n], &b).unwrap()),
        )
        .unwrap();
        let y = op.run(&x).unwrap();
        for i in 0..m {
            for j in 0..n {
                let exact: f32 = (0..k).map(|c| x[i * k + c] * w[j * k + c]).sum::<f32>() + b[j];
                let got = y[i * n + j];
                assert!(
                    (got - exact).abs() < 0.05 + exact.abs() * 0.02,
                    "{got} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn the_vector_dot_products_are_the_exact_integer_ones() {
        let k = 100;
        let x: Vec<i16> = (0..k).map(|i| (i as i16 * 41 % 255) - 127).collect();
        let w: Vec<i8> = (0..BLOCK * k)
            .map(|i| ((i * 29 % 255) as i16 - 127) as i8)
            .collect();
        for rows in 1..=BLOCK {
            let mut acc = [0i32; BLOCK];
            dots(&x, &w[..rows * k], k, &mut acc[..rows]);
            for (j, &a) in acc[..rows].iter().enumerate() {
                assert_eq!(
                    a,
                    tail_dot(&x, &w[j * k..(j + 1) * k]),
                    "{rows} rows, row {j}"
                );
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_vnni_products_are_the_exact_integer_ones() {
        if !vnni::available() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        // Rows and depth not multiples of the panel or of 4, rows not of the row block, an
        // odd number of four-column groups (49 → 13).
        for (m, k, n) in [
            (7, 45, 37),
            (1, 45, 37),
            (5, 49, 17),
            (8, 64, 16),
            (17, 49, 33),
        ] {
            vnni_case(m, k, n);
        }
    }

    fn vnni_case(m: usize, k: usize, n: usize) {
        let x: Vec<i16> = (0..m * k).map(|i| (i * 41 % 255) as i16 - 127).collect();
        let w: Vec<i8> = (0..n * k)
            .map(|i| ((i * 29 % 255) as i16 - 127) as i8)
            .collect();
        let packed = vnni::Weights::pack(&w, n, k);
        let kp = packed.depth();
        let mut xu = vec![128u8; m * kp];
        for (q, row) in xu.chunks_exact_mut(kp).zip(x.chunks_exact(k)) {
            for (q, &v) in q.iter_mut().zip(row) {
                *q = (v + 128) as u8;
            }
        }
        let sums = packed.products(&xu, m);
        for i in 0..m {
            for j in 0..n {
                let want = tail_dot(&x[i * k..(i + 1) * k], &w[j * k..(j + 1) * k]);
                assert_eq!(
                    sums[i * packed.width() + j],
                    want,
                    "{m}x{k}x{n}: row {i}, column {j}"
                );
            }
        }
    }

    #[test]
    fn quantizing_rounds_as_f32_round_does() {
        let scale = 1.0;
        for v in [
            0.5f32,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.49999997,
            -0.49999997,
            126.5,
            -126.5,
            127.4,
            130.0,
            -300.0,
            0.0,
            -0.0,
            3.0000002,
            63.499996,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            let want = v.round().clamp(-127.0, 127.0) as i32;
            assert_eq!(quantize(v, scale), want, "{v}");
        }
        // A NaN (a diverged activation) still gives a value in range, not undefined behaviour.
        assert!(quantize(f32::NAN, scale).abs() <= 127);
        let mut state = 12345u32;
        for _ in 0..100_000 {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            let v = (state >> 8) as f32 / (1u32 << 24) as f32 * 300.0 - 150.0;
            assert_eq!(
                quantize(v, 0.85),
                (v * 0.85).round().clamp(-127.0, 127.0) as i32
            );
        }
    }

    #[test]
    fn row_scale_is_the_largest_magnitude_wherever_it_is() {
        for len in 1..40 {
            for at in 0..len {
                let mut row: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
                row[at] = -3.5;
                assert_eq!(row_scale(&row), 127.0 / 3.5, "{len} values, -3.5 at {at}");
                row[at] = f32::NAN;
                let rest = row
                    .iter()
                    .filter(|v| !v.is_nan())
                    .fold(0f32, |m, v| m.max(v.abs()));
                let want = if rest > 0.0 { 127.0 / rest } else { 1.0 };
                assert_eq!(row_scale(&row), want, "a NaN is skipped");
            }
        }
    }

    #[test]
    fn an_all_zero_row_stays_zero() {
        let mut q = [1i8; 4];
        assert_eq!(quantize_row(&[0.0; 4], &mut q), 1.0);
        assert_eq!(q, [0; 4]);
    }
}
