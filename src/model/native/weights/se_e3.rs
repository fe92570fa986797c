//! The se_e3 descriptor's weights: the std of the direction components per type block
//! (their mean must be 0, see `native/se_e3.rs`) and one embedding net per type pair.

use super::net::{read_mlp, Mlp};
use super::tensors::{block_stats, get, sel_of, unsupported, Tensors};
use crate::error::Result;
use crate::model::native::real::Real;

#[derive(Debug, Clone)]
pub struct SeTWeights<R = f64> {
    pub ntypes: usize,
    pub sel: Vec<usize>,
    pub rcut: f64,
    pub rcut_smth: f64,
    /// Output width (the last embedding layer), and where it starts in the fitting input.
    pub m: usize,
    pub offset: usize,
    /// `[ti * ntypes + tj]` → std of the three direction components (mean is 0).
    pub std: Vec<[f64; 3]>,
    /// `[ta * ntypes + tb]`, used for ta <= tb only.
    pub nets: Vec<Mlp<R>>,
}

impl SeTWeights<f64> {
    /// The weights with the nets in precision `S`.
    pub fn cast<S: Real>(&self) -> SeTWeights<S> {
        SeTWeights {
            ntypes: self.ntypes,
            sel: self.sel.clone(),
            rcut: self.rcut,
            rcut_smth: self.rcut_smth,
            m: self.m,
            offset: self.offset,
            std: self.std.clone(),
            nets: self.nets.iter().map(Mlp::cast).collect(),
        }
    }
}

/// Reads the se_e3 part under `pre` (e.g. `atomic_model.descriptor.descrpt_list.1.seat`).
pub fn load(t: &Tensors, d: &serde_json::Value, pre: &str, ntypes: usize, offset: usize) -> Result<SeTWeights> {
    if t.iter().any(|(k, v)| k.starts_with(&format!("{pre}.compress_data")) && !v.1.is_empty()) {
        return Err(unsupported("a compressed se_e3 descriptor (its tabulated kernel, tabulate_fusion_se_t, is not implemented)"));
    }
    let sel = sel_of(d, ntypes)?;
    let mean = block_stats(&get(t, &format!("{pre}.mean"))?.1, &sel, 4, 0.0, "se_e3 mean")?;
    let std4 = block_stats(&get(t, &format!("{pre}.stddev"))?.1, &sel, 4, 1.0, "se_e3 stddev")?;
    if mean.iter().any(|m| m[1..].iter().any(|&v| v != 0.0)) {
        return Err(unsupported("se_e3 statistics with a nonzero mean of the direction components"));
    }
    if std4.iter().any(|s| s[1..].iter().any(|&v| !(v > 0.0))) {
        return Err(unsupported("se_e3 statistics with a non-positive std"));
    }
    let std = std4.iter().map(|s| [s[1], s[2], s[3]]).collect();
    // DeePMD-kit's net k serves the pair (k % nt, k / nt); store it by (ta, tb)
    let mut nets = Vec::with_capacity(ntypes * ntypes);
    for ta in 0..ntypes {
        for tb in 0..ntypes {
            nets.push(read_mlp(t, &format!("{pre}.filter_layers.networks.{}", tb * ntypes + ta), true)?);
        }
    }
    let m = nets[0].n_out();
    if nets.iter().any(|n| n.layers[0].n_in != 1 || n.n_out() != m) {
        return Err(unsupported("se_e3 embedding nets of unexpected widths"));
    }
    Ok(SeTWeights {
        ntypes,
        sel,
        rcut: d["rcut"].as_f64().unwrap_or(6.0),
        rcut_smth: d["rcut_smth"].as_f64().unwrap_or(0.5),
        m,
        offset,
        std,
        nets,
    })
}

