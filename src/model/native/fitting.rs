//! The fitting nets, forward and backward: atomic energy `E_i` of every center of a chunk
//! and dE/dD, the gradient on its descriptor row.

use super::mlp::{self, Acts};
use super::real::Real;
use super::weights::FittingWeights;

#[derive(Debug, Default)]
pub struct Scratch<R> {
    /// Seconds spent, summed until taken (the "fitting" phase of the timing line).
    pub seconds: f64,
    rows: Vec<usize>,
    x: Vec<R>,
    acts: Vec<Acts<R>>,
    dy: Vec<R>,
    tmp: Vec<R>,
    dx: Vec<R>,
}

/// Runs the net of each center's type `ti[li]` on its row of `desc` (`ndesc` wide):
/// `energy[li]` and the rows of `ddesc` (both `ti.len()` rows long). The energy leaves the
/// net in its precision with `bias_atom_e`, then gets `out_bias` in f64.
pub fn energy_and_grad<R: Real>(
    w: &FittingWeights<R>,
    ti: &[usize],
    desc: &[R],
    ndesc: usize,
    energy: &mut [f64],
    ddesc: &mut [R],
    sc: &mut Scratch<R>,
) {
    let na = ti.len();
    let start = std::time::Instant::now();
    for (t, net) in w.nets.iter().enumerate() {
        sc.rows.clear();
        sc.rows.extend((0..na).filter(|&li| ti[li] == t));
        let m = sc.rows.len();
        if m == 0 {
            continue;
        }
        sc.x.clear();
        for &li in &sc.rows {
            sc.x.extend_from_slice(&desc[li * ndesc..(li + 1) * ndesc]);
        }
        mlp::forward(net, m, &sc.x, &mut sc.acts);
        let out = &sc.acts.last().expect("layers").y; // ok-panic: `forward` fills one entry per layer; `read_mlp` refuses a net without layers
        for (r, &li) in sc.rows.iter().enumerate() {
            energy[li] = (out[r] + w.bias_atom_e[t]).f64() + w.out_bias[t];
        }
        sc.dy.clear();
        sc.dy.resize(m, R::ONE);
        mlp::backward(net, m, &sc.acts, &mut sc.dy, &mut sc.tmp, &mut sc.dx);
        for (r, &li) in sc.rows.iter().enumerate() {
            ddesc[li * ndesc..(li + 1) * ndesc].copy_from_slice(&sc.dx[r * ndesc..(r + 1) * ndesc]);
        }
    }
    sc.seconds += start.elapsed().as_secs_f64();
}
