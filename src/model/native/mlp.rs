//! Forward and backward passes of a DeePMD-kit MLP over a batch of rows, with the
//! activations kept for the backward pass, in the evaluator's precision `R`. Matrix
//! products go through `matrixmultiply` (`Real::gemm`).

use super::real::Real;
use super::weights::{Layer, Mlp};

/// Per-layer activations of one batch: `t` = tanh(xW + b) (or xW + b for a linear
/// layer), `y` = the layer's output (t·idt + skip).
#[derive(Debug, Default)]
pub struct Acts<R> {
    pub t: Vec<R>,
    pub y: Vec<R>,
}

fn layer_forward<R: Real>(l: &Layer<R>, n: usize, x: &[R], a: &mut Acts<R>) {
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
        R::gemm(n, ni, no, x, &l.w, no as isize, 1, &mut a.t);
    }
    if l.tanh {
        R::tanh_in_place(&mut a.t);
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
pub fn forward<R: Real>(m: &Mlp<R>, n: usize, x: &[R], acts: &mut Vec<Acts<R>>) {
    acts.resize_with(m.layers.len(), Acts::default);
    for (l, layer) in m.layers.iter().enumerate() {
        let (done, rest) = acts.split_at_mut(l);
        let input: &[R] = if l == 0 { x } else { &done[l - 1].y };
        layer_forward(layer, n, input, &mut rest[0]);
    }
}

/// Back-propagates `dy` (`n × n_out`, consumed) to `dx` (`n × n_in` of the first
/// layer), using the activations of the matching `forward`. `tmp` is scratch.
pub fn backward<R: Real>(m: &Mlp<R>, n: usize, acts: &[Acts<R>], dy: &mut Vec<R>, tmp: &mut Vec<R>, dx: &mut Vec<R>) {
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
            tmp.iter_mut().zip(&acts[l].t).for_each(|(v, &t)| *v *= R::ONE - t * t);
        }
        dx.clear();
        dx.resize(n * ni, R::ZERO);
        if ni == 1 {
            for (r, row) in tmp.chunks_exact(no).enumerate() {
                dx[r] = row.iter().zip(&layer.w).map(|(&g, &w)| g * w).sum();
            }
        } else {
            R::gemm(n, no, ni, tmp, &layer.w, 1, no as isize, dx);
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
