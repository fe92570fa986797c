//! The energy fitting: one net per center type on the (concatenated) descriptor, plus the
//! type's `bias_atom_e` and `out_bias`.

use super::net::{read_mlp, Mlp};
use super::tensors::{get, unsupported, Tensors};
use crate::error::Result;
use crate::model::native::real::Real;

#[derive(Debug, Clone)]
pub struct FittingWeights<R = f64> {
    /// Fitting net per center type.
    pub nets: Vec<Mlp<R>>,
    /// Added to the net's output in the net's precision (DeePMD-kit casts it so) ...
    pub bias_atom_e: Vec<R>,
    /// ... and this in float64.
    pub out_bias: Vec<f64>,
}

impl FittingWeights<f64> {
    /// The weights with the nets (and `bias_atom_e`) in precision `S`.
    pub fn cast<S: Real>(&self) -> FittingWeights<S> {
        FittingWeights {
            nets: self.nets.iter().map(Mlp::cast).collect(),
            bias_atom_e: super::net::cast(&self.bias_atom_e),
            out_bias: self.out_bias.clone(),
        }
    }
}

/// Reads the fitting nets of `ntypes` types, each taking the `ndesc`-wide descriptor to
/// one energy.
pub fn load(t: &Tensors, ntypes: usize, ndesc: usize) -> Result<FittingWeights> {
    let nets: Vec<Mlp> = (0..ntypes)
        .map(|k| read_mlp(t, &format!("atomic_model.fitting_net.filter_layers.networks.{k}"), false))
        .collect::<Result<_>>()?;
    if nets.iter().any(|m| m.layers[0].n_in != ndesc || m.n_out() != 1) {
        return Err(unsupported(format!("fitting nets that do not take the {ndesc}-wide descriptor to one energy")));
    }
    let per_type = |name: &str| -> Result<Vec<f64>> {
        let v = &get(t, name)?.1;
        if v.len() != ntypes {
            return Err(unsupported(format!("'{name}' holds {} values for {ntypes} types", v.len())));
        }
        Ok(v.clone())
    };
    Ok(FittingWeights {
        nets,
        bias_atom_e: per_type("atomic_model.fitting_net.bias_atom_e")?,
        out_bias: per_type("atomic_model.out_bias")?,
    })
}
