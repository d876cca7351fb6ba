//! The one place the engine runs code compiled for a CPU feature it checked at run time: the
//! hot loops (adding weight rows, softmax) with AVX2 on x86-64, whose baseline (SSE2) has no
//! vector form of their i8-to-f32 and rounding steps.
//!
//! Only the instructions change, never the arithmetic: each lane does the same operations in
//! the same order as the portable loop (Rust never fuses a multiply and an add), so results are
//! bit-identical on every CPU and in wasm.

/// Runs `work`, compiled for AVX2 when the CPU has it. `work` should be a small closure over
/// `#[inline(always)]` loops, so that they are compiled into the AVX2 copy.
#[inline(always)]
pub(crate) fn with_avx2<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(all(target_arch = "x86_64", not(target_feature = "avx2")))]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn compiled_for_avx2<R>(work: impl FnOnce() -> R) -> R {
            work()
        }
        // SAFETY: `compiled_for_avx2` needs AVX2, which the CPU was just seen to have.
        #[allow(unsafe_code)]
        return unsafe { compiled_for_avx2(work) };
    }
    work()
}
