//! A module's tensors by name, and the reading helpers every part of the weights uses.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::ffi::torch::module_tensors;

/// Tensors of a module by name: shape and float64 values.
pub type Tensors = HashMap<String, (Vec<usize>, Vec<f64>)>;

pub fn read_tensors(path: &str) -> Result<Tensors> {
    Ok(module_tensors(path)?
        .into_iter()
        .map(|t| (t.name, (t.shape.iter().map(|&s| s.max(0) as usize).collect(), t.values)))
        .collect())
}

/// Why the native evaluator does not take a model (it then runs through TorchScript).
pub fn unsupported(what: impl Into<String>) -> Error {
    Error::Model(what.into())
}

pub fn get<'a>(t: &'a Tensors, name: &str) -> Result<&'a (Vec<usize>, Vec<f64>)> {
    t.get(name).ok_or_else(|| unsupported(format!("no tensor '{name}' (not a standard se_e2_a / se_e3 energy model)")))
}

pub fn sel_of(d: &serde_json::Value, ntypes: usize) -> Result<Vec<usize>> {
    let sel: Vec<usize> = d["sel"].as_array().map(|a| a.iter().filter_map(|x| x.as_u64()).map(|x| x as usize).collect()).unwrap_or_default();
    if sel.len() != ntypes {
        return Err(unsupported(format!("{} sel {sel:?} for {ntypes} types", d["type"].as_str().unwrap_or("descriptor"))));
    }
    Ok(sel)
}

/// Per-block statistics `[ti * ntypes + tj]` from DeePMD-kit's per-slot `[ntypes, Σsel, 4]`
/// tensor, which stats fill with one value per type block.
pub fn block_stats(v: &[f64], sel: &[usize], what: &str) -> Result<Vec<[f64; 4]>> {
    let (ntypes, nnei) = (sel.len(), sel.iter().sum::<usize>());
    if v.len() != ntypes * nnei * 4 {
        return Err(unsupported(format!("{what} holds {} values, expected [{ntypes}, {nnei}, 4]", v.len())));
    }
    let mut out = Vec::with_capacity(ntypes * ntypes);
    for ti in 0..ntypes {
        let mut off = 0;
        for &s in sel {
            let at = |slot: usize| -> [f64; 4] {
                let o = (ti * nnei + slot) * 4;
                [v[o], v[o + 1], v[o + 2], v[o + 3]]
            };
            let first = at(off);
            if (off..off + s).any(|k| at(k) != first) {
                return Err(unsupported(format!("{what}: statistics that vary within a type block")));
            }
            out.push(first);
            off += s;
        }
    }
    Ok(out)
}

