//! DeePMD-kit's model deviation with several models: on output steps every model is
//! evaluated on the same atoms; per atom the force deviation
//! ε_i = sqrt(<|F_i,k − <F_i>|²>_k) (after ghost forces are summed onto their owners by the
//! pair style's reverse communication), and per virial component the standard deviation
//! over models divided by the number of atoms. `model_devi.out` gets, like
//! `pair_style deepmd`, step, max/min/avg of the virial deviation over the 9 components and
//! max/min/avg of ε_i over atoms, column for column (DeePMD-kit's "avg_devi_v" is the norm
//! of the 9 component deviations divided by 3, i.e. their root mean square).
//!
//! Across runs the file follows `step_record.rs`, like coverage.csv: a restart continues it
//! (earlier rows kept, steps already there not repeated, later ones appended), a new run
//! over an old file is refused. (`pair_style deepmd` appends only after `read_restart` and
//! otherwise truncates the file.)

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::step_record::StepRecord;

pub struct Deviation {
    pub out_freq: usize,
    record: StepRecord,
    pub n_models: usize,
    /// `[nall][3 * n_models]`, LAMMPS-indexed; reverse-communicated by the pair style.
    pub forces: Vec<f64>,
    /// `[n_models][9]` this rank's virials.
    pub virials: Vec<f64>,
}

/// Indices of the partial results the pair style reduces over ranks.
pub const MAX_F: usize = 0;
pub const MIN_F: usize = 1;
/// From here on, summed: sum of ε_i, atom count, then the virials.
pub const SUM_F: usize = 2;

impl Deviation {
    pub fn new(out_file: &str, out_freq: usize, n_models: usize) -> Result<Deviation> {
        let header = format!(
            "{:>12}{:>19}{:>19}{:>19}{:>19}{:>19}{:>19}\n",
            "#       step", "max_devi_v", "min_devi_v", "avg_devi_v", "max_devi_f", "min_devi_f", "avg_devi_f"
        );
        let record = StepRecord::open(Path::new(out_file), &header, "out_file", |l| l.split_whitespace().next()?.parse().ok())?;
        Ok(Deviation { out_freq, record, n_models, forces: Vec::new(), virials: Vec::new() })
    }

    pub fn due(&self, step: i64) -> bool {
        step % self.out_freq as i64 == 0
    }

    /// Clears the buffers for a step with `nall` LAMMPS atoms.
    pub fn start(&mut self, nall: usize) {
        self.forces.clear();
        self.forces.resize(nall * 3 * self.n_models, 0.0);
        self.virials.clear();
        self.virials.resize(9 * self.n_models, 0.0);
    }

    /// Adds model `k`'s forces (`[next*3]` on extended atoms `lammps_index`) and virial.
    pub fn add_model(&mut self, k: usize, lammps_index: &[usize], force: &[f64], virial: &[f64; 9], fu: f64, eu: f64) {
        let w = 3 * self.n_models;
        for (e, &i) in lammps_index.iter().enumerate() {
            for d in 0..3 {
                self.forces[i * w + 3 * k + d] += fu * force[3 * e + d];
            }
        }
        for (v, x) in self.virials[9 * k..9 * k + 9].iter_mut().zip(virial) {
            *v += eu * x;
        }
    }

    /// This rank's partial results over its owned atoms for which `counted(i)` holds:
    /// [max ε, min ε, sum ε, count, virials...].
    pub fn partials(&self, nlocal: usize, counted: impl Fn(usize) -> bool) -> Vec<f64> {
        let (nm, w) = (self.n_models as f64, 3 * self.n_models);
        let (mut max, mut min, mut sum, mut count) = (f64::MIN, f64::MAX, 0.0, 0.0);
        for i in (0..nlocal).filter(|&i| counted(i)) {
            let f = &self.forces[i * w..(i + 1) * w];
            let mut mean = [0.0; 3];
            for k in 0..self.n_models {
                for d in 0..3 {
                    mean[d] += f[3 * k + d] / nm;
                }
            }
            let mut var = 0.0;
            for k in 0..self.n_models {
                for d in 0..3 {
                    var += (f[3 * k + d] - mean[d]).powi(2) / nm;
                }
            }
            let eps = var.sqrt();
            max = max.max(eps);
            min = min.min(eps);
            sum += eps;
            count += 1.0;
        }
        let mut out = vec![max, min, sum, count];
        out.extend_from_slice(&self.virials);
        out
    }

    /// Rank 0, after the reductions: appends the step's line and rewrites the file whole.
    pub fn write(&mut self, step: i64, reduced: &[f64], natoms: f64) -> Result<()> {
        let nm = self.n_models;
        if reduced.len() != SUM_F + 2 + 9 * nm {
            return Err(Error::Internal("model deviation: reduced array of the wrong size".into()));
        }
        let v = &reduced[SUM_F + 2..];
        let mut dv = [0.0; 9];
        for (c, d) in dv.iter_mut().enumerate() {
            let mean = (0..nm).map(|k| v[9 * k + c]).sum::<f64>() / nm as f64;
            let var = (0..nm).map(|k| (v[9 * k + c] - mean).powi(2)).sum::<f64>() / nm as f64;
            *d = var.sqrt() / natoms;
        }
        let vmax = dv.iter().copied().fold(f64::MIN, f64::max);
        let vmin = dv.iter().copied().fold(f64::MAX, f64::min);
        // DeePMD-kit's "avg" of the virial deviation is the norm of the 9 components / 3
        let vavg = dv.iter().map(|x| x * x).sum::<f64>().sqrt() / 3.0;
        let count = reduced[SUM_F + 1].max(1.0);
        if !self.record.accept(step)? {
            return Ok(()); // recorded already (an earlier run before a restart, or this step again)
        }
        let mut row = String::new();
        let _ = writeln!(
            row,
            "{step:>12}{:>19.6e}{:>19.6e}{:>19.6e}{:>19.6e}{:>19.6e}{:>19.6e}",
            vmax, vmin, vavg, reduced[MAX_F], reduced[MIN_F], reduced[SUM_F] / count
        );
        self.record.push_row(&row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_models_deviation_is_half_the_difference() {
        let mut d = Deviation::new("/nonexistent/model_devi.out", 1, 2).unwrap();
        d.start(2);
        let v0 = [0.0; 9];
        let mut v1 = [0.0; 9];
        v1[0] = 4.0;
        d.add_model(0, &[0, 1], &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0], &v0, 1.0, 1.0);
        d.add_model(1, &[0, 1], &[3.0, 0.0, 0.0, 0.0, 0.0, 0.0], &v1, 1.0, 1.0);
        let p = d.partials(2, |_| true);
        assert_eq!(&p[..4], &[1.0, 0.0, 1.0, 2.0]); // ε = |3-1|/2 = 1 and 0
        assert_eq!(p.len(), 4 + 18);
    }
}
