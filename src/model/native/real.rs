//! The native evaluator's arithmetic type: its nets, tables and descriptors run in `f64`
//! or in `f32`; positions, switching functions, statistics, energies, forces and virial stay
//! in `f64` whatever the nets use.
//!
//! Where DeePMD-kit casts in a float32 model (PyTorch backend), and so where this code does:
//! the env rows are computed in float64 and enter the nets as float32; the atomic energy
//! leaves the fitting net in float32 plus `bias_atom_e` (cast to float32) and gets the
//! float64 `out_bias`; the gradient goes back through the same casts. Running a float64
//! model in float32 (`precision float32`) rounds its weights once, at load.

use std::fmt::Debug;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::tanh;
use crate::dot;

pub trait Real:
    Copy
    + Default
    + PartialOrd
    + Debug
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    const ZERO: Self;
    const ONE: Self;
    /// "float64" or "float32", as DeePMD-kit names the precision.
    const NAME: &'static str;
    /// Rounds to this type (exact for f64).
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
    /// `c[n×k] += a[n×m] · b`, `b` given by its strides (row-major `[m][k]`: `(k, 1)`;
    /// its transpose: `(1, m)`).
    fn gemm(n: usize, m: usize, k: usize, a: &[Self], b: &[Self], rsb: isize, csb: isize, c: &mut [Self]);
    fn tanh_in_place(v: &mut [Self]);
    /// `self · b + c`, in one rounding when `FUSED` (the AVX2 + FMA build, `simd.rs`).
    fn madd<const FUSED: bool>(self, b: Self, c: Self) -> Self;
    /// `a · b` and `(a · b, a · c)` returned in f64, where they go to the forces (`dot.rs`).
    fn dot<const FUSED: bool>(a: &[Self], b: &[Self]) -> f64;
    fn dot2<const FUSED: bool>(a: &[Self], b: &[Self], c: &[Self]) -> (f64, f64);
}

/// The sizes `gemm` relies on; its callers build the matrices from the same widths.
fn check_gemm<T>(n: usize, m: usize, k: usize, a: &[T], b: &[T], rsb: isize, csb: isize, c: &[T]) {
    let b_last = (m.saturating_sub(1) as isize * rsb + k.saturating_sub(1) as isize * csb) as usize;
    assert!(a.len() >= n * m && c.len() >= n * k && (m == 0 || k == 0 || b.len() > b_last), "gemm sizes"); // ok-panic: an internal size error, caught by the bridge guard
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const NAME: &'static str = "float64";
    #[inline(always)]
    fn of(x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
    fn gemm(n: usize, m: usize, k: usize, a: &[f64], b: &[f64], rsb: isize, csb: isize, c: &mut [f64]) {
        check_gemm(n, m, k, a, b, rsb, csb, c);
        // SAFETY: the sizes were just checked against the n×m, m×k (with the given strides)
        // and n×k matrices; c is borrowed mutably, so it aliases neither a nor b.
        unsafe {
            matrixmultiply::dgemm(n, m, k, 1.0, a.as_ptr(), m as isize, 1, b.as_ptr(), rsb, csb, 1.0, c.as_mut_ptr(), k as isize, 1);
        }
    }
    fn tanh_in_place(v: &mut [f64]) {
        tanh::tanh_in_place(v)
    }
    #[inline(always)]
    fn madd<const FUSED: bool>(self, b: f64, c: f64) -> f64 {
        dot::madd::<FUSED>(self, b, c)
    }
    #[inline(always)]
    fn dot<const FUSED: bool>(a: &[f64], b: &[f64]) -> f64 {
        dot::dot::<FUSED>(a, b)
    }
    #[inline(always)]
    fn dot2<const FUSED: bool>(a: &[f64], b: &[f64], c: &[f64]) -> (f64, f64) {
        dot::dot2::<FUSED>(a, b, c)
    }
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const NAME: &'static str = "float32";
    #[inline(always)]
    fn of(x: f64) -> f32 {
        x as f32
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }
    fn gemm(n: usize, m: usize, k: usize, a: &[f32], b: &[f32], rsb: isize, csb: isize, c: &mut [f32]) {
        check_gemm(n, m, k, a, b, rsb, csb, c);
        // SAFETY: as for f64 just above.
        unsafe {
            matrixmultiply::sgemm(n, m, k, 1.0, a.as_ptr(), m as isize, 1, b.as_ptr(), rsb, csb, 1.0, c.as_mut_ptr(), k as isize, 1);
        }
    }
    fn tanh_in_place(v: &mut [f32]) {
        tanh::tanh_in_place_f32(v)
    }
    #[inline(always)]
    fn madd<const FUSED: bool>(self, b: f32, c: f32) -> f32 {
        dot::madd_f32::<FUSED>(self, b, c)
    }
    #[inline(always)]
    fn dot<const FUSED: bool>(a: &[f32], b: &[f32]) -> f64 {
        dot::dot_f32::<FUSED>(a, b)
    }
    #[inline(always)]
    fn dot2<const FUSED: bool>(a: &[f32], b: &[f32], c: &[f32]) -> (f64, f64) {
        dot::dot2_f32::<FUSED>(a, b, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product<R: Real>() -> Vec<f64> {
        // [[1, 2], [3, 4]] · [[1, 0, 2], [0, 1, 1]], and the same b read as a transpose
        let a: Vec<R> = [1.0, 2.0, 3.0, 4.0].map(R::of).to_vec();
        let b: Vec<R> = [1.0, 0.0, 2.0, 0.0, 1.0, 1.0].map(R::of).to_vec();
        let mut c = vec![R::ZERO; 6];
        R::gemm(2, 2, 3, &a, &b, 3, 1, &mut c);
        let bt: Vec<R> = [1.0, 0.0, 0.0, 1.0, 2.0, 1.0].map(R::of).to_vec();
        R::gemm(2, 2, 3, &a, &bt, 1, 2, &mut c);
        c.iter().map(|x| x.f64()).collect()
    }

    #[test]
    fn gemm_accumulates_in_both_precisions() {
        let want = vec![2.0, 4.0, 8.0, 6.0, 8.0, 20.0];
        assert_eq!(product::<f64>(), want);
        assert_eq!(product::<f32>(), want);
    }

    #[test]
    #[should_panic(expected = "gemm sizes")]
    fn gemm_refuses_short_slices() {
        let mut c = vec![0.0f32; 3];
        f32::gemm(2, 2, 2, &[1.0; 4], &[1.0; 4], 2, 1, &mut c);
    }
}
