//! Portable loops run compiled for the wider vectors of the CPU at hand: the host is built for
//! baseline x86-64 (SSE2), and AVX2 doubles the lanes of what the compiler vectorises.

/// `work()`, compiled for AVX2 where this x86-64 CPU has it (detected at run time). Callers
/// mark the closure `#[inline(always)]` and keep its loops in it (no `collect`, which runs in a
/// library function): only code inlined into the AVX2 function is compiled for AVX2. The same
/// operations then run on wider vectors: a loop that computes each value on its own (no
/// reassociated sums, no fused multiply-add, which Rust never forms by itself) gives the same
/// bits either way.
#[inline(always)]
pub(crate) fn widest<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<R>(work: impl FnOnce() -> R) -> R {
            work()
        }
        // SAFETY: the CPU has AVX2.
        return unsafe { avx2(work) };
    }
    work()
}
