//! The recipe for a chunk of local atoms: pairs → descriptors (se_e2_a, and se_e3 in a
//! hybrid), and, once the fitting nets have given dE/dD, back through the descriptors to one
//! gradient per neighbor pair. The fitting nets run between the two over larger blocks of
//! atoms (`mod.rs`): their weight matrices are repacked for every matrix product, which
//! costs as much as the product itself for a chunk's ~16 rows per type.
//!
//! A chunk works on its own scratch and writes pair gradients; the caller adds them to
//! the forces in a fixed order, so the result does not depend on the thread count.

use std::ops::Range;
use std::time::Instant;

use super::real::Real;
use super::weights::Weights;
use super::{se_a, se_e3};
use crate::model::step::StepInput;

#[derive(Debug, Default)]
pub struct Scratch<R> {
    /// Center types of the chunk.
    ti: Vec<usize>,
    pub se_a: se_a::Scratch<R>,
    /// The se_e3 part of a hybrid: its neighbors and their gradients.
    pub se3: se_e3::Scratch<R>,
    /// Set when a type selection would drop a neighbor in a model whose graph selects the
    /// nearest (`Weights::sorted_nlist`): then nothing else of the chunk is valid.
    pub overflow: bool,
    /// Seconds spent per phase (see `PHASES`), summed over calls until taken.
    pub seconds: [f64; PHASES.len()],
}

/// The phases of `run_chunk`, for the timing line.
pub const PHASES: [&str; 6] = ["pairs", "embedding", "descriptor", "fitting", "embedding backward", "three-body"];

fn lap(t: &mut Instant, acc: &mut f64) {
    let now = Instant::now();
    *acc += (now - *t).as_secs_f64();
    *t = now;
}

/// The neighbor pairs of the chunk's centers, given to each descriptor. Per-type overflow
/// beyond sel is dropped in row order, as DeePMD-kit's type split does for an unsorted
/// list; a hybrid sorts first, and there an overflow ends the chunk (returns false).
fn collect_pairs<R: Real>(w: &Weights<R>, inp: &StepInput, atoms: Range<usize>, sc: &mut Scratch<R>) -> bool {
    let rc2 = w.rcut_model * w.rcut_model;
    sc.se_a.start(&w.se_a, atoms.len());
    sc.se3.clear();
    for (li, i) in atoms.enumerate() {
        let ti = sc.ti[li];
        let xi = &inp.coord[3 * i..3 * i + 3];
        sc.se_a.open_center(&w.se_a, li);
        let start3 = sc.se3.nbs.len();
        for &e in &inp.nlist[i * inp.width..(i + 1) * inp.width] {
            if e < 0 {
                break;
            }
            let j = e as usize;
            let tj = inp.atype[j] as usize;
            let xj = &inp.coord[3 * j..3 * j + 3];
            let d = [xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]];
            if w.sorted_nlist {
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 > rc2 {
                    continue; // the graph drops it before selecting
                }
                if let Some(w3) = &w.se_e3 {
                    sc.se3.push(w3, li, j, tj, d, r2);
                }
                if sc.se_a.full(&w.se_a, li, tj) {
                    return false;
                }
            }
            sc.se_a.push(&w.se_a, li, ti, j, tj, d);
        }
        if let Some(w3) = &w.se_e3 {
            if !sc.se3.finish_center(w3, start3) {
                return false;
            }
        }
    }
    true
}

/// Forward through the descriptors for local atoms `atoms`: their rows of the fitting
/// input in `desc` (`atoms.len() × ndesc`), unless a selection overflows (`sc.overflow`).
pub fn forward_chunk<R: Real>(w: &Weights<R>, pad_terms: &[Vec<R>], inp: &StepInput, atoms: Range<usize>, sc: &mut Scratch<R>, desc: &mut [R]) {
    let mut clock = Instant::now();
    let na = atoms.len();
    sc.ti.clear();
    sc.ti.extend(atoms.clone().map(|i| inp.atype[i] as usize));
    sc.overflow = !collect_pairs(w, inp, atoms, sc);
    if sc.overflow {
        return;
    }
    lap(&mut clock, &mut sc.seconds[0]);
    se_a::forward_embedding(&w.se_a, na, &mut sc.se_a);
    lap(&mut clock, &mut sc.seconds[1]);
    desc.fill(R::ZERO);
    se_a::forward_descriptor(&w.se_a, pad_terms, &sc.ti, desc, w.ndesc, &mut sc.se_a);
    lap(&mut clock, &mut sc.seconds[2]);
    if let Some(w3) = &w.se_e3 {
        se_e3::forward(w3, &sc.ti, desc, w.ndesc, &mut sc.se3);
        lap(&mut clock, &mut sc.seconds[5]);
    }
}

/// From dE/dD (the chunk's rows `ddesc`) back through the descriptors: `sc.se_a.grad` (pairs
/// in `sc.se_a.groups` order) and `sc.se3.grad`.
pub fn backward_chunk<R: Real>(w: &Weights<R>, sc: &mut Scratch<R>, ddesc: &[R]) {
    let mut clock = Instant::now();
    se_a::backward(&w.se_a, sc.ti.len(), ddesc, w.ndesc, &mut sc.se_a);
    lap(&mut clock, &mut sc.seconds[4]);
    if let Some(w3) = &w.se_e3 {
        se_e3::backward(w3, &sc.ti, ddesc, w.ndesc, &mut sc.se3);
        lap(&mut clock, &mut sc.seconds[5]);
    }
}
