//! Forward and backward passes of a DeePMD-kit MLP over a batch of rows, with the
//! activations kept for the backward pass. Matrix products go through `matrixmultiply`.

use super::tanh::tanh_in_place;
use super::weights::{Layer, Mlp};

/// Per-layer activations of one batch: `t` = tanh(xW + b) (or xW + b for a linear
/// layer), `y` = the layer's output (t·idt + skip).
#[derive(Debug, Default)]
pub struct Acts {
    pub t: Vec<f64>,
    pub y: Vec<f64>,
}

/// `c[n×k] += a[n×m] · b`, `b` given by its strides (row-major `[m][k]`: `(k, 1)`;
/// its transpose: `(1, m)`).
fn gemm(n: usize, m: usize, k: usize, a: &[f64], b: &[f64], rsb: isize, csb: isize, c: &mut [f64]) {
    debug_assert!(a.len() >= n * m && c.len() >= n * k);
    // SAFETY: the slices hold the n×m, m×k and n×k matrices with the given strides
    // (checked by the callers' sizes); c does not alias a or b.
    unsafe {
        matrixmultiply::dgemm(
            n, m, k, 1.0, a.as_ptr(), m as isize, 1, b.as_ptr(), rsb, csb, 1.0, c.as_mut_ptr(), k as isize, 1,
        );
    }
}

fn layer_forward(l: &Layer, n: usize, x: &[f64], a: &mut Acts) {
    let (ni, no) = (l.n_in, l.n_out);
    a.t.clear();
    for _ in 0..n {
        a.t.extend_from_slice(&l.b);
    }
    if ni == 1 {
        for (r, row) in a.t.chunks_exact_mut(no).enumerate() {
            for (z, &w) in row.iter_mut().zip(&l.w) {
                *z += x[r] * w;
            }
        }
    } else {
        gemm(n, ni, no, x, &l.w, no as isize, 1, &mut a.t);
    }
    if l.tanh {
        tanh_in_place(&mut a.t);
    }
    a.y.clear();
    a.y.extend_from_slice(&a.t);
    if let Some(idt) = &l.idt {
        for row in a.y.chunks_exact_mut(no) {
            for (v, &s) in row.iter_mut().zip(idt) {
                *v *= s;
            }
        }
    }
    match l.skip() {
        1 => a.y.iter_mut().zip(&x[..n * ni]).for_each(|(v, &xi)| *v += xi),
        2 => {
            for (row, xr) in a.y.chunks_exact_mut(no).zip(x.chunks_exact(ni)) {
                let (lo, hi) = row.split_at_mut(ni);
                lo.iter_mut().zip(xr).for_each(|(v, &xi)| *v += xi);
                hi.iter_mut().zip(xr).for_each(|(v, &xi)| *v += xi);
            }
        }
        _ => {}
    }
}

/// Runs the net on `n` rows of `x` (`n × n_in`); `acts[l]` receives layer l. The output
/// is `acts.last().y`.
pub fn forward(m: &Mlp, n: usize, x: &[f64], acts: &mut Vec<Acts>) {
    acts.resize_with(m.layers.len(), Acts::default);
    for (l, layer) in m.layers.iter().enumerate() {
        let (done, rest) = acts.split_at_mut(l);
        let input: &[f64] = if l == 0 { x } else { &done[l - 1].y };
        layer_forward(layer, n, input, &mut rest[0]);
    }
}

/// Back-propagates `dy` (`n × n_out`, consumed) to `dx` (`n × n_in` of the first
/// layer), using the activations of the matching `forward`. `tmp` is scratch.
pub fn backward(m: &Mlp, n: usize, acts: &[Acts], dy: &mut Vec<f64>, tmp: &mut Vec<f64>, dx: &mut Vec<f64>) {
    for (l, layer) in m.layers.iter().enumerate().rev() {
        let (ni, no) = (layer.n_in, layer.n_out);
        // dz = dy · idt · tanh'(z), in tmp
        tmp.clear();
        tmp.extend_from_slice(&dy[..n * no]);
        if let Some(idt) = &layer.idt {
            for row in tmp.chunks_exact_mut(no) {
                row.iter_mut().zip(idt).for_each(|(v, &s)| *v *= s);
            }
        }
        if layer.tanh {
            tmp.iter_mut().zip(&acts[l].t).for_each(|(v, &t)| *v *= 1.0 - t * t);
        }
        dx.clear();
        dx.resize(n * ni, 0.0);
        if ni == 1 {
            for (r, row) in tmp.chunks_exact(no).enumerate() {
                dx[r] = row.iter().zip(&layer.w).map(|(g, w)| g * w).sum();
            }
        } else {
            gemm(n, no, ni, tmp, &layer.w, 1, no as isize, dx);
        }
        match layer.skip() {
            1 => dx.iter_mut().zip(&dy[..n * no]).for_each(|(v, &g)| *v += g),
            2 => {
                for (xr, row) in dx.chunks_exact_mut(ni).zip(dy.chunks_exact(no)) {
                    let (lo, hi) = row.split_at(ni);
                    for ((v, &a), &b) in xr.iter_mut().zip(lo).zip(hi) {
                        *v += a + b;
                    }
                }
            }
            _ => {}
        }
        std::mem::swap(dy, dx);
    }
    std::mem::swap(dy, dx);
}
