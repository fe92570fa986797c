//! Cheap checks of one step, each one pass over an array the step has anyway:
//! non-finite coordinates going in and non-finite energy, forces or virial coming out
//! (the native evaluator would turn a NaN coordinate into a finite energy: a NaN distance
//! fails the cutoff test and the neighbour silently disappears), and neighbours beyond the
//! model's `sel` (which DeePMD-kit, and so this plugin, drops without a word).

use crate::error::{Error, Result};

/// Index of the first non-finite value, if any.
fn first_non_finite(values: &[f64]) -> Option<usize> {
    values.iter().position(|v| !v.is_finite())
}

/// `coord` `[nall*3]` of the extended atoms; `tag_of(e)` the LAMMPS atom ID of extended atom `e`.
pub fn check_coordinates(step: i64, coord: &[f64], tag_of: impl Fn(usize) -> i64) -> Result<()> {
    let Some(k) = first_non_finite(coord) else { return Ok(()) };
    let (e, axis) = (k / 3, ["x", "y", "z"][k % 3]);
    Err(Error::Input(format!(
        "step {step}: atom {} has a non-finite coordinate ({axis} = {}); the simulation is unstable \
         (timestep too large, atoms overlapping, a fix or an external code writing NaN): stop here rather than \
         compute forces from it",
        tag_of(e),
        coord[k]
    )))
}

/// After the model: energy, forces (`[next*3]`) and virial must be finite.
pub fn check_outputs(step: i64, energy: f64, force: &[f64], virial: &[f64], tag_of: impl Fn(usize) -> i64) -> Result<()> {
    let tail = "the model produced it from finite coordinates: check the model file and the configuration \
                (atoms far closer than in the training data)";
    if let Some(k) = first_non_finite(force) {
        return Err(Error::Model(format!(
            "step {step}: non-finite force on atom {} ({} = {}); {tail}",
            tag_of(k / 3),
            ["fx", "fy", "fz"][k % 3],
            force[k]
        )));
    }
    if !energy.is_finite() || first_non_finite(virial).is_some() {
        return Err(Error::Model(format!("step {step}: non-finite energy ({energy}) or virial; {tail}")));
    }
    Ok(())
}

/// Neighbours (within the cutoff: `nlist` rows of the step) beyond the model's per-type
/// `sel`: (local atoms affected, largest excess over `sel` of one type). None when all fit.
pub fn sel_overflow(nlist: &[i64], width: usize, nloc: usize, atype: &[i64], sel: &[i64]) -> Option<(usize, i64)> {
    let mut counts = vec![0i64; sel.len()];
    let (mut atoms, mut worst) = (0usize, 0i64);
    for row in nlist.chunks(width.max(1)).take(nloc) {
        counts.fill(0);
        for &e in row.iter().take_while(|&&e| e >= 0) {
            if let Some(c) = atype.get(e as usize).and_then(|&t| counts.get_mut(t as usize)) {
                *c += 1;
            }
        }
        let excess = counts.iter().zip(sel).map(|(c, s)| c - s).max().unwrap_or(0);
        if excess > 0 {
            atoms += 1;
            worst = worst.max(excess);
        }
    }
    (atoms > 0).then_some((atoms, worst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_name_the_atom() {
        let tag = |e: usize| 100 + e as i64;
        assert!(check_coordinates(3, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], tag).is_ok());
        let e = check_coordinates(3, &[0.0, 1.0, 2.0, 3.0, f64::NAN, 5.0], tag).unwrap_err().to_string();
        assert!(e.contains("step 3: atom 101") && e.contains("y = NaN"), "{e}");
        let e = check_outputs(7, 1.0, &[0.0, 0.0, 0.0, 0.0, 0.0, f64::INFINITY], &[0.0; 9], tag).unwrap_err().to_string();
        assert!(e.contains("step 7: non-finite force on atom 101 (fz = inf)"), "{e}");
        assert!(check_outputs(7, f64::NAN, &[0.0; 6], &[0.0; 9], tag).is_err());
        assert!(check_outputs(7, 1.0, &[0.0; 6], &[0.0; 9], tag).is_ok());
    }

    #[test]
    fn overflow_counts_atoms_and_the_largest_excess() {
        // two local atoms of type 0; sel = [1, 2]; row 0: three type-0 neighbours, row 1: two type-1
        let atype = [0, 0, 0, 0, 0, 1, 1];
        let nlist = [2, 3, 4, -1, 5, 6, -1, -1];
        assert_eq!(sel_overflow(&nlist, 4, 2, &atype, &[1, 2]), Some((1, 2)));
        assert_eq!(sel_overflow(&nlist, 4, 2, &atype, &[3, 2]), None);
    }
}
