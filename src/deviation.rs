//! DeePMD-kit's model deviation with several models: on output steps every model is
//! evaluated on the same atoms; per atom the force deviation
//! ε_i = sqrt(<|F_i,k − <F_i>|²>_k) (after ghost forces are summed onto their owners by the
//! pair style's reverse communication), and per virial component the standard deviation
//! over models of the virial divided by the number of atoms. `model_devi.out` gets, like
//! `pair_style deepmd`, step, max/min/avg of the virial deviation over the 9 components and
//! max/min/avg of ε_i over atoms, column for column (DeePMD-kit's "avg_devi_v" is the root
//! mean square of the 9 component deviations).
//!
//! The options of `pair_style deepmd` (settings.rs, `DeviationOptions`), with its
//! definitions: `atomic` appends ε_i of every atom, in atom-ID order; `relative E` replaces
//! ε_i by ε_i / (|<F_i>| + E), `relative_v E` each virial component's deviation d_c by
//! d_c / (|<v_c>| / N + E). Everything is computed in model units (eV, Å), E converted to
//! eV, and the columns are converted to LAMMPS units at the end as that pair style does:
//! forces by the force factor, virials by the energy factor, the relative ones included
//! (so in styles other than metal they carry that factor; the log says so).
//!
//! Across runs the file follows `step_record.rs`, like coverage.csv: a restart continues it
//! (earlier rows kept, steps already there not repeated, later ones appended), a new run
//! over an old file is refused. (`pair_style deepmd` appends only after `read_restart` and
//! otherwise truncates the file.)

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::settings::DeviationOptions;
use crate::step_record::StepRecord;
use crate::units::Units;

pub struct Deviation {
    pub out_freq: usize,
    options: DeviationOptions,
    units: Units,
    record: StepRecord,
    pub n_models: usize,
    /// `[nall][3 * n_models]` eV/Å, LAMMPS-indexed; reverse-communicated by the pair style.
    pub forces: Vec<f64>,
    /// `[n_models][9]` this rank's virials, eV.
    pub virials: Vec<f64>,
    /// ε_i (relative when asked) of this rank's owned atoms, LAMMPS-indexed, model units:
    /// filled by `partials`, gathered by the pair style for `atomic`.
    pub atom_devi: Vec<f64>,
}

/// Indices of the partial results the pair style reduces over ranks.
pub const MAX_F: usize = 0;
pub const MIN_F: usize = 1;
/// From here on, summed: sum of ε_i, atom count, then the virials.
pub const SUM_F: usize = 2;

impl Deviation {
    pub fn new(out_file: &str, out_freq: usize, n_models: usize, options: DeviationOptions, units: Units) -> Result<Deviation> {
        let mut header = format!(
            "{:>12}{:>19}{:>19}{:>19}{:>19}{:>19}{:>19}",
            "#       step", "max_devi_v", "min_devi_v", "avg_devi_v", "max_devi_f", "min_devi_f", "avg_devi_f"
        );
        if options.atomic {
            let _ = write!(header, "{:>19}", "atm_devi_f(N)");
        }
        header.push('\n');
        let record = StepRecord::open(Path::new(out_file), &header, "out_file", |l| l.split_whitespace().next()?.parse().ok())?;
        Ok(Deviation { out_freq, options, units, record, n_models, forces: Vec::new(), virials: Vec::new(), atom_devi: Vec::new() })
    }

    pub fn due(&self, step: i64) -> bool {
        step % self.out_freq as i64 == 0
    }

    pub fn atomic(&self) -> bool {
        self.options.atomic
    }

    /// A note for the log when relative deviations are written in a unit style other than
    /// metal: they carry the unit factor, as in `pair_style deepmd`'s file.
    pub fn unit_note(&self) -> Option<String> {
        let (o, u) = (&self.options, &self.units);
        let factors: Vec<String> = [(o.relative.is_some(), "relative", u.force()), (o.relative_v.is_some(), "relative_v", u.energy)]
            .into_iter()
            .filter(|&(on, _, factor)| on && factor != 1.0)
            .map(|(_, key, factor)| format!("the {key} deviations are multiplied by {factor:.10e}"))
            .collect();
        (!factors.is_empty()).then(|| {
            format!(
                "pair_style llzo_dp: out_file is written as pair_style deepmd writes it in these units: {} \
                 (LAMMPS units per eV/Å, resp. per eV); divide by it for the plain ratio",
                factors.join(" and ")
            )
        })
    }

    /// Clears the buffers for a step with `nall` LAMMPS atoms.
    pub fn start(&mut self, nall: usize) {
        self.forces.clear();
        self.forces.resize(nall * 3 * self.n_models, 0.0);
        self.virials.clear();
        self.virials.resize(9 * self.n_models, 0.0);
    }

    /// Adds model `k`'s forces (`[next*3]` eV/Å on extended atoms `lammps_index`) and virial (eV).
    pub fn add_model(&mut self, k: usize, lammps_index: &[usize], force: &[f64], virial: &[f64; 9]) {
        let w = 3 * self.n_models;
        for (e, &i) in lammps_index.iter().enumerate() {
            for d in 0..3 {
                self.forces[i * w + 3 * k + d] += force[3 * e + d];
            }
        }
        for (v, x) in self.virials[9 * k..9 * k + 9].iter_mut().zip(virial) {
            *v += x;
        }
    }

    /// ε_i of this rank's `nlocal` owned atoms into `atom_devi`, then the partial results over
    /// those for which `counted(i)` holds: [max ε, min ε, sum ε, count, virials...].
    pub fn partials(&mut self, nlocal: usize, counted: impl Fn(usize) -> bool) -> Vec<f64> {
        let (nm, w) = (self.n_models, 3 * self.n_models);
        let level = self.options.relative.map(|e| e / self.units.energy);
        self.atom_devi.clear();
        self.atom_devi.extend((0..nlocal).map(|i| force_deviation(&self.forces[i * w..(i + 1) * w], nm, level)));
        let (mut max, mut min, mut sum, mut count) = (f64::MIN, f64::MAX, 0.0, 0.0);
        for i in (0..nlocal).filter(|&i| counted(i)) {
            let eps = self.atom_devi[i];
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
    /// `ids` and `atom_devi`: every atom's ID and ε_i gathered from all ranks (used with
    /// `atomic`, else empty).
    pub fn write(&mut self, step: i64, reduced: &[f64], natoms: f64, ids: &[i32], atom_devi: &[f64]) -> Result<()> {
        let nm = self.n_models;
        if reduced.len() != SUM_F + 2 + 9 * nm || ids.len() != atom_devi.len() {
            return Err(Error::Internal("model deviation: reduced or gathered arrays of the wrong size".into()));
        }
        let level_v = self.options.relative_v.map(|e| e / self.units.energy);
        let dv = virial_deviation(&reduced[SUM_F + 2..], nm, natoms, level_v);
        let vmax = dv.iter().copied().fold(f64::MIN, f64::max);
        let vmin = dv.iter().copied().fold(f64::MAX, f64::min);
        let vavg = (dv.iter().map(|x| x * x).sum::<f64>() / 9.0).sqrt();
        let count = reduced[SUM_F + 1].max(1.0);
        if !self.record.accept(step)? {
            return Ok(()); // recorded already (an earlier run before a restart, or this step again)
        }
        let (eu, fu) = (self.units.energy, self.units.force());
        let mut row = format!("{step:>12}");
        for x in [vmax * eu, vmin * eu, vavg * eu, reduced[MAX_F] * fu, reduced[MIN_F] * fu, reduced[SUM_F] / count * fu] {
            let _ = write!(row, "{x:>19.6e}");
        }
        if self.options.atomic {
            let mut by_id: Vec<(i32, f64)> = ids.iter().copied().zip(atom_devi.iter().copied()).collect();
            by_id.sort_by_key(|&(id, _)| id);
            for (_, x) in by_id {
                let _ = write!(row, "{:>19.6e}", x * fu);
            }
        }
        row.push('\n');
        self.record.push_row(&row)
    }
}

/// ε_i of one atom from its forces `[n_models][3]`: the root mean square over models of
/// the distance to the mean force; with a `level` (eV/Å) divided by |<F_i>| + level.
fn force_deviation(f: &[f64], n_models: usize, level: Option<f64>) -> f64 {
    let mut mean = [0.0; 3];
    for k in 0..n_models {
        for d in 0..3 {
            mean[d] += f[3 * k + d];
        }
    }
    mean.iter_mut().for_each(|m| *m /= n_models as f64);
    let mut var = 0.0;
    for k in 0..n_models {
        for d in 0..3 {
            var += (f[3 * k + d] - mean[d]).powi(2);
        }
    }
    let eps = (var / n_models as f64).sqrt();
    match level {
        Some(l) => eps / (mean.iter().map(|m| m * m).sum::<f64>().sqrt() + l),
        None => eps,
    }
}

/// Per component of the virial per atom (`v`: `[n_models][9]` eV summed over ranks, `natoms`
/// atoms) the standard deviation over models; with a `level` (eV) divided by
/// |mean over models| + level.
fn virial_deviation(v: &[f64], n_models: usize, natoms: f64, level: Option<f64>) -> [f64; 9] {
    let nm = n_models as f64;
    let mut dv = [0.0; 9];
    for (c, d) in dv.iter_mut().enumerate() {
        let per_atom = |k: usize| v[9 * k + c] / natoms;
        let mean = (0..n_models).map(per_atom).sum::<f64>() / nm;
        let std = ((0..n_models).map(|k| (per_atom(k) - mean).powi(2)).sum::<f64>() / nm).sqrt();
        *d = match level {
            Some(l) => std / (mean.abs() + l),
            None => std,
        };
    }
    dv
}

#[cfg(test)]
mod tests {
    use super::*;

    const METAL: Units = Units { energy: 1.0, length: 1.0 };

    fn two_models(options: DeviationOptions, units: Units) -> Deviation {
        let mut d = Deviation::new("/nonexistent/model_devi.out", 1, 2, options, units).unwrap();
        d.start(2);
        let v0 = [0.0; 9];
        let mut v1 = [0.0; 9];
        v1[0] = 4.0;
        // atom 0: F = (1, 0, 0) and (3, 0, 0); atom 1: no force
        d.add_model(0, &[0, 1], &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0], &v0);
        d.add_model(1, &[0, 1], &[3.0, 0.0, 0.0, 0.0, 0.0, 0.0], &v1);
        d
    }

    #[test]
    fn two_models_deviation_is_half_the_difference() {
        let mut d = two_models(DeviationOptions::default(), METAL);
        let p = d.partials(2, |_| true);
        assert_eq!(&p[..4], &[1.0, 0.0, 1.0, 2.0]); // ε = |3-1|/2 = 1 and 0
        assert_eq!(p.len(), 4 + 18);
        assert_eq!(d.atom_devi, vec![1.0, 0.0]);
    }

    #[test]
    fn relative_deviation_divides_by_the_mean_force_plus_the_level() {
        // |<F_0>| = 2: ε_0 = 1 / (2 + 0.5); atom 1: 0 / (0 + 0.5)
        let rel = DeviationOptions { relative: Some(0.5), ..Default::default() };
        let mut d = two_models(rel, METAL);
        d.partials(2, |_| true);
        assert_eq!(d.atom_devi, vec![1.0 / 2.5, 0.0]);
        // the level is in LAMMPS energy units: 0.5 kcal/mol is 0.5 / 23.06 eV
        let real = Units { energy: 23.06, length: 1.0 };
        let mut d = two_models(rel, real);
        d.partials(2, |_| true);
        assert_eq!(d.atom_devi[0], 1.0 / (2.0 + 0.5 / 23.06));
        assert!(d.unit_note().unwrap().contains("relative deviations are multiplied by 2.3060000000e1"));
        assert!(two_models(rel, METAL).unit_note().is_none());
    }

    #[test]
    fn virial_deviation_per_atom_and_relative() {
        // xx: 0 and 4 over 2 atoms: per atom 0 and 2, mean 1, std 1
        let v: Vec<f64> = [[0.0; 9], { let mut a = [0.0; 9]; a[0] = 4.0; a }].concat();
        let d = virial_deviation(&v, 2, 2.0, None);
        assert_eq!(d[0], 1.0);
        assert!(d[1..].iter().all(|&x| x == 0.0));
        assert_eq!(virial_deviation(&v, 2, 2.0, Some(1.0))[0], 1.0 / (1.0 + 1.0));
    }
}
