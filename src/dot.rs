//! Dot products with independent partial sums, so that the compiler keeps them in vector
//! registers (a plain `sum()` is one chain of dependent additions, in strict order).
//! The f32 versions sum in f32 lanes and return f64 (the native evaluator's float32 mode).
//! `FUSED` adds each product in one rounding (`mul_add`), for the AVX2 + FMA build of the
//! native evaluator's loops (`model/native/simd.rs`); they are `inline(always)` so that they
//! are compiled with the features of the loop that calls them.

/// `a·b + c`, fused when `FUSED` (also `Real::madd`).
#[inline(always)]
pub fn madd<const FUSED: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
pub fn madd_f32<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `a · b` with four partial sums.
#[inline(always)]
pub fn dot<const FUSED: bool>(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] = madd::<FUSED>(x[k], y[k], acc[k]);
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Lanes of `dot2`: two products share each load of `a`.
const LANES: usize = 8;

/// `(a · b, a · c)` for slices of one length.
#[inline(always)]
pub fn dot2<const FUSED: bool>(a: &[f64], b: &[f64], c: &[f64]) -> (f64, f64) {
    let (mut x, mut y) = ([0.0; LANES], [0.0; LANES]);
    let n = a.len() / LANES * LANES;
    for ((ka, kb), kc) in a[..n].chunks_exact(LANES).zip(b[..n].chunks_exact(LANES)).zip(c[..n].chunks_exact(LANES)) {
        for l in 0..LANES {
            x[l] = madd::<FUSED>(ka[l], kb[l], x[l]);
            y[l] = madd::<FUSED>(ka[l], kc[l], y[l]);
        }
    }
    let (mut sx, mut sy) = (x.iter().sum::<f64>(), y.iter().sum::<f64>());
    for i in n..a.len() {
        sx += a[i] * b[i];
        sy += a[i] * c[i];
    }
    (sx, sy)
}

/// `(a · b, a · c)` for f32 slices: products summed in f32 over `LANES` interleaved partial
/// sums (each adds ~m/8 terms), which go to f64 at the end. Summing every product in f64 would
/// convert each value first, which costs more than the products; the lanes keep the
/// rounding of a float32 dot product of 8 to 16 terms.
#[inline(always)]
pub fn dot2_f32<const FUSED: bool>(a: &[f32], b: &[f32], c: &[f32]) -> (f64, f64) {
    // two plain reductions: the shape the compiler turns into vector loads and adds
    (dot_f32::<FUSED>(a, b), dot_f32::<FUSED>(a, c))
}

/// `a · b` for f32 slices, in f32 lanes as `dot2_f32`.
#[inline(always)]
pub fn dot_f32<const FUSED: bool>(a: &[f32], b: &[f32]) -> f64 {
    let mut x = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(&p, &q)| p as f64 * q as f64).sum();
    for (ka, kb) in ca.zip(cb) {
        for l in 0..LANES {
            x[l] = madd_f32::<FUSED>(ka[l], kb[l], x[l]);
        }
    }
    x.iter().map(|&v| v as f64).sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_the_plain_sums() {
        let a: Vec<f64> = (0..13).map(|i| i as f64 * 0.5 - 2.0).collect();
        let b: Vec<f64> = (0..13).map(|i| (i * i) as f64 * 0.25).collect();
        let c: Vec<f64> = (0..13).map(|i| 3.0 - i as f64).collect();
        let plain = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(x, y)| x * y).sum::<f64>();
        // small integers and halves: exact in any order, fused or not
        assert_eq!(dot::<false>(&a, &b), plain(&a, &b));
        assert_eq!(dot::<true>(&a, &b), plain(&a, &b));
        assert_eq!(dot2::<false>(&a, &b, &c), (plain(&a, &b), plain(&a, &c)));
        assert_eq!(dot2::<true>(&a, &b, &c), (plain(&a, &b), plain(&a, &c)));
        let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        assert_eq!(dot2_f32::<false>(&f(&a), &f(&b), &f(&c)), (plain(&a, &b), plain(&a, &c)));
        assert_eq!(dot2_f32::<true>(&f(&a), &f(&b), &f(&c)), (plain(&a, &b), plain(&a, &c)));
        assert_eq!(dot_f32::<false>(&f(&a), &f(&b)), plain(&a, &b));
    }
}
