//! The per-pair loops compiled twice: for any x86-64 CPU (SSE2, two doubles per
//! instruction) and for AVX2 + FMA (four), chosen at run time, so that one plugin binary runs
//! everywhere and uses the wider registers where they exist. The loops are plain Rust that
//! the compiler vectorizes; `Real::madd` fuses a multiply and an add in the AVX2 build only,
//! so the two builds differ by a rounding per product (tested in `se_a.rs`). An AVX-512
//! build measured no faster on the paper-architecture model: these loops wait on their table
//! rows, not on arithmetic.

/// Whether this CPU runs the AVX2 + FMA builds (the standard library caches the answer).
#[inline]
pub fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `dispatch!(pub fn name = body(a: A, b: B))` defines `name<R: Real>(a, b)`, which runs
/// `body::<R, FUSED>` (an `#[inline(always)]` generic function) compiled for AVX2 + FMA
/// when the CPU has them (`FUSED` = true) and for the baseline otherwise.
macro_rules! dispatch {
    ($(#[$doc:meta])* $vis:vis fn $name:ident = $body:ident ($($a:ident : $t:ty),* $(,)?)) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<R: Real>($($a: $t),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2<R: Real>($($a: $t),*) {
                    $body::<R, true>($($a),*)
                }
                if $crate::model::native::simd::avx2_fma() {
                    // SAFETY: the CPU was just found to have AVX2 and FMA.
                    return unsafe { avx2::<R>($($a),*) };
                }
            }
            $body::<R, false>($($a),*)
        }
    };
}
pub(crate) use dispatch;
