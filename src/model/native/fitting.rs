//! The fitting nets, forward and backward: atomic energy `E_i` of every center of a chunk
//! and dE/dD, the gradient on its descriptor row.

use super::mlp::{self, Acts};
use super::weights::FittingWeights;

#[derive(Debug, Default)]
pub struct Scratch {
    /// Seconds spent, summed until taken (the "fitting" phase of the timing line).
    pub seconds: f64,
    rows: Vec<usize>,
    x: Vec<f64>,
    acts: Vec<Acts>,
    dy: Vec<f64>,
    tmp: Vec<f64>,
    dx: Vec<f64>,
}

/// Runs the net of each center's type `ti[li]` on its row of `desc` (`ndesc` wide):
/// `energy[li]` and the rows of `ddesc` (both `ti.len()` rows long).
pub fn energy_and_grad(w: &FittingWeights, ti: &[usize], desc: &[f64], ndesc: usize, energy: &mut [f64], ddesc: &mut [f64], sc: &mut Scratch) {
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
            energy[li] = (out[r] + w.bias_atom_e[t]) + w.out_bias[t];
        }
        sc.dy.clear();
        sc.dy.resize(m, 1.0);
        mlp::backward(net, m, &sc.acts, &mut sc.dy, &mut sc.tmp, &mut sc.dx);
        for (r, &li) in sc.rows.iter().enumerate() {
            ddesc[li * ndesc..(li + 1) * ndesc].copy_from_slice(&sc.dx[r * ndesc..(r + 1) * ndesc]);
        }
    }
    sc.seconds += start.elapsed().as_secs_f64();
}
