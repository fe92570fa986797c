//! Unit conversion between the model (eV, Å) and the LAMMPS unit style.
//!
//! DeePMD-kit models work in eV and Å. `pair_style deepmd` takes every LAMMPS unit style
//! but `lj` and converts with LAMMPS's own constants: energies by `force->boltz` divided by
//! DeePMD-kit's Boltzmann constant in eV/K, lengths by `force->angstrom`; forces by their
//! ratio. llzo_dp takes the same constants from LAMMPS, so its numbers equal that pair
//! style's in every style (for `units real` the factor is 23.0605501, not LAMMPS's
//! `qe2f` 23.060549: the two differ by 5e-8).

use crate::error::{Error, Result};

/// DeePMD-kit's Boltzmann constant in eV/K (the divisor of its energy conversion).
pub const BOLTZMANN_EV_PER_K: f64 = 8.617343e-5;

/// The LAMMPS unit styles with a length and an energy scale, which DeePMD-kit's pair style
/// also takes (`lj` is reduced units: there is nothing to convert eV and Å to).
pub const SUPPORTED_STYLES: &[&str] = &["metal", "real", "si", "cgs", "electron", "micro", "nano"];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Units {
    /// LAMMPS energy units per eV.
    pub energy: f64,
    /// LAMMPS length units per Å.
    pub length: f64,
}

impl Units {
    /// `style`: `update->unit_style`; `boltz` and `angstrom`: LAMMPS's `force->boltz`
    /// (Boltzmann constant in the style's energy per K) and `force->angstrom` (one Å in
    /// the style's length).
    pub fn from_lammps(style: &str, boltz: f64, angstrom: f64) -> Result<Units> {
        if !SUPPORTED_STYLES.contains(&style) {
            return Err(Error::Input(format!(
                "pair_style llzo_dp does not support 'units {style}': the model's eV and Å need a unit style with \
                 physical units; use one of units {} ('units metal' is the model's own), set before the box is defined",
                SUPPORTED_STYLES.join(", ")
            )));
        }
        let valid = |x: f64| x.is_finite() && x > 0.0;
        if !valid(boltz) || !valid(angstrom) {
            return Err(Error::Internal(format!(
                "LAMMPS gave units {style} the constants boltz = {boltz}, angstrom = {angstrom}"
            )));
        }
        Ok(Units { energy: boltz / BOLTZMANN_EV_PER_K, length: angstrom })
    }

    /// LAMMPS force units per eV/Å.
    pub fn force(&self) -> f64 {
        self.energy / self.length
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `force->boltz` and `force->angstrom` of each style in LAMMPS 2025.7.22 (update.cpp),
    /// and one eV and one Å in that style from CODATA 2018 (independent of LAMMPS).
    const STYLES: &[(&str, f64, f64, f64, f64)] = &[
        ("metal", 8.617343e-05, 1.0, 1.0, 1.0),
        ("real", 0.0019872067, 1.0, 96.485_332_12 / 4.184, 1.0),
        ("si", 1.3806504e-23, 1e-10, 1.602_176_634e-19, 1e-10),
        ("cgs", 1.3806504e-16, 1e-08, 1.602_176_634e-12, 1e-8),
        ("electron", 3.16681534e-06, 1.88972612, 1.0 / 27.211_386_245_988, 1.0 / 0.529_177_210_903),
        ("micro", 1.3806504e-08, 0.0001, 1.602_176_634e-4, 1e-4),
        ("nano", 0.013806504, 0.1, 1.602_176_634e2, 0.1),
    ];

    #[test]
    fn metal_is_the_identity() {
        let m = Units::from_lammps("metal", 8.617343e-05, 1.0).unwrap();
        assert_eq!((m.energy, m.length, m.force()), (1.0, 1.0, 1.0));
    }

    #[test]
    fn every_physical_style_converts_by_lammps_constants() {
        for &(style, boltz, angstrom, ev, a) in STYLES {
            let u = Units::from_lammps(style, boltz, angstrom).unwrap();
            assert_eq!(u.energy, boltz / BOLTZMANN_EV_PER_K, "{style}");
            assert_eq!(u.length, angstrom, "{style}");
            // LAMMPS's constants are of older CODATA releases: a few 1e-7 apart
            assert!((u.energy / ev - 1.0).abs() < 2e-6, "{style}: {} vs {ev}", u.energy);
            assert!((u.length / a - 1.0).abs() < 2e-6, "{style}: {} vs {a}", u.length);
            assert_eq!(u.force(), u.energy / u.length);
        }
        // pair_style deepmd's factor for real, not qe2f
        let r = Units::from_lammps("real", 0.0019872067, 1.0).unwrap();
        assert!((r.energy - 23.060_550_1).abs() < 1e-7, "{}", r.energy);
    }

    #[test]
    fn lj_and_unknown_styles_are_refused_naming_the_supported_ones() {
        for s in ["lj", "furlong"] {
            let e = Units::from_lammps(s, 1.0, 1.0).unwrap_err().to_string();
            assert!(e.contains(&format!("'units {s}'")), "{e}");
            assert!(e.contains("metal, real, si, cgs, electron, micro, nano"), "{e}");
        }
        assert!(Units::from_lammps("si", 0.0, 1e-10).is_err());
        assert!(Units::from_lammps("si", 1.38e-23, f64::NAN).is_err());
    }
}
