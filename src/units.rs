//! Unit conversion between the model (eV, Å) and the LAMMPS unit style.
//!
//! DeePMD-kit models work in eV and Å. LAMMPS `metal` uses the same units;
//! `real` uses kcal/mol and Å, so only energies (and with them forces and
//! virials) are scaled. Other unit styles are refused: their lengths are not Å.

use crate::error::{Error, Result};

/// kcal/mol per eV, the value LAMMPS itself uses for `units real` (force->qe2f).
pub const KCAL_PER_MOL_PER_EV: f64 = 23.060549;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Units {
    /// LAMMPS energy units per eV.
    pub energy: f64,
    /// LAMMPS length units per Å.
    pub length: f64,
}

impl Units {
    pub fn from_lammps_style(style: &str) -> Result<Units> {
        match style {
            "metal" => Ok(Units { energy: 1.0, length: 1.0 }),
            "real" => Ok(Units { energy: KCAL_PER_MOL_PER_EV, length: 1.0 }),
            other => Err(Error::Input(format!(
                "pair_style llzo_dp supports 'units metal' and 'units real', not 'units {other}'; \
                 put 'units metal' before the box is defined"
            ))),
        }
    }

    /// LAMMPS force units per eV/Å.
    pub fn force(&self) -> f64 {
        self.energy / self.length
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metal_is_identity_and_real_scales_energy() {
        let m = Units::from_lammps_style("metal").unwrap();
        assert_eq!((m.energy, m.length, m.force()), (1.0, 1.0, 1.0));
        let r = Units::from_lammps_style("real").unwrap();
        assert_eq!(r.energy, KCAL_PER_MOL_PER_EV);
        assert_eq!(r.force(), KCAL_PER_MOL_PER_EV);
    }

    #[test]
    fn other_styles_are_refused_with_a_fix() {
        for s in ["lj", "si", "cgs", "electron", "micro", "nano"] {
            let e = Units::from_lammps_style(s).unwrap_err().to_string();
            assert!(e.contains(&format!("units {s}")) && e.contains("units metal"), "{e}");
        }
    }
}
