//! A module's tensors by name, and the reading helpers every part of the weights uses.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::ffi::torch::module_tensors;

/// Tensors of a module by name: shape and float64 values.
pub type Tensors = HashMap<String, (Vec<usize>, Vec<f64>)>;

/// The precision a model's nets are stored in: DeePMD-kit's "precision" of the descriptor
/// and fitting, read from the weight matrices themselves, not from the definition
/// ("default" is float64 unless the build says otherwise, and a definition may leave the key
/// out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Float64,
    Float32,
}

impl Stored {
    pub fn name(self) -> &'static str {
        match self {
            Stored::Float64 => "float64",
            Stored::Float32 => "float32",
        }
    }
}

/// The module's tensors (values in f64, exact for float32 ones) and the precision of its
/// weight matrices.
pub fn read_tensors(path: &str) -> Result<(Tensors, Stored)> {
    let named = module_tensors(path)?;
    let stored = stored_precision(named.iter().filter(|t| !t.values.is_empty()).map(|t| (t.name.as_str(), t.dtype.as_str())))?;
    let tensors = named
        .into_iter()
        .map(|t| (t.name, (t.shape.iter().map(|&s| s.max(0) as usize).collect(), t.values)))
        .collect();
    Ok((tensors, stored))
}

/// One precision for every weight matrix (`*.matrix`), float64 or float32; other floating
/// tensors (statistics, biases, DeePMD-kit's float64 `out_bias`) may be either, since the
/// graph casts them where they meet the nets. Integer buffers and empty placeholders do not
/// count. Half precisions and nets of mixed precisions (e.g. a float32 descriptor with a
/// float64 fitting) are refused, so they run through TorchScript.
pub fn stored_precision<'a>(dtypes: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Stored> {
    let mut found: Option<(&str, &str)> = None;
    for (name, dtype) in dtypes {
        if matches!(dtype, "Half" | "BFloat16") {
            return Err(unsupported(format!("weights in {} (e.g. '{name}'; the native evaluator computes in float64 or float32)", dtype.to_lowercase())));
        }
        if !name.ends_with(".matrix") || !matches!(dtype, "Double" | "Float") {
            continue;
        }
        match found {
            None => found = Some((name, dtype)),
            Some((first, d)) if d != dtype => {
                let n = |d: &str| if d == "Float" { "float32" } else { "float64" };
                return Err(unsupported(format!(
                    "nets in mixed precisions ('{first}' in {}, '{name}' in {}; the native evaluator runs one precision)",
                    n(d),
                    n(dtype)
                )));
            }
            Some(_) => {}
        }
    }
    Ok(match found {
        Some((_, "Float")) => Stored::Float32,
        _ => Stored::Float64,
    })
}

/// Why the native evaluator does not take a model (it then runs through TorchScript).
pub fn unsupported(what: impl Into<String>) -> Error {
    Error::Model(what.into())
}

pub fn get<'a>(t: &'a Tensors, name: &str) -> Result<&'a (Vec<usize>, Vec<f64>)> {
    t.get(name).ok_or_else(|| unsupported(format!("no tensor '{name}' (not a standard se_e2_a / se_e2_r / se_e3 energy model)")))
}

pub fn sel_of(d: &serde_json::Value, ntypes: usize) -> Result<Vec<usize>> {
    let sel: Vec<usize> = d["sel"].as_array().map(|a| a.iter().filter_map(|x| x.as_u64()).map(|x| x as usize).collect()).unwrap_or_default();
    if sel.len() != ntypes {
        return Err(unsupported(format!("{} sel {sel:?} for {ntypes} types", d["type"].as_str().unwrap_or("descriptor"))));
    }
    Ok(sel)
}

/// Per-block statistics `[ti * ntypes + tj]` from DeePMD-kit's per-slot `[ntypes, Σsel, ncomp]`
/// tensor, which stats fill with one value per type block; components past `ncomp` (a
/// radial descriptor's single one) read `fill`.
pub fn block_stats(v: &[f64], sel: &[usize], ncomp: usize, fill: f64, what: &str) -> Result<Vec<[f64; 4]>> {
    let (ntypes, nnei) = (sel.len(), sel.iter().sum::<usize>());
    if v.len() != ntypes * nnei * ncomp || !(1..=4).contains(&ncomp) {
        return Err(unsupported(format!("{what} holds {} values, expected [{ntypes}, {nnei}, {ncomp}]", v.len())));
    }
    let mut out = Vec::with_capacity(ntypes * ntypes);
    for ti in 0..ntypes {
        let mut off = 0;
        for &s in sel {
            let at = |slot: usize| -> [f64; 4] {
                let o = (ti * nnei + slot) * ncomp;
                std::array::from_fn(|c| if c < ncomp { v[o + c] } else { fill })
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


#[cfg(test)]
mod tests {
    use super::{stored_precision, Stored};

    #[test]
    fn the_weight_matrices_decide_and_integer_buffers_do_not_count() {
        let f64_model = [("a.matrix", "Double"), ("a.sel", "Long"), ("mask", "Bool"), ("out_bias", "Double")];
        assert_eq!(stored_precision(f64_model.into_iter()).unwrap(), Stored::Float64);
        // DeePMD-kit's float32 models keep out_bias and bias_atom_e in float64
        let f32_model = [("a.matrix", "Float"), ("a.bias", "Float"), ("out_bias", "Double"), ("b.matrix", "Float")];
        assert_eq!(stored_precision(f32_model.into_iter()).unwrap(), Stored::Float32);
    }

    #[test]
    fn mixed_and_half_precisions_are_refused_by_name() {
        let mixed = stored_precision([("d.matrix", "Float"), ("f.matrix", "Double")].into_iter()).unwrap_err().to_string();
        assert!(mixed.contains("mixed precisions") && mixed.contains("'d.matrix' in float32") && mixed.contains("'f.matrix' in float64"), "{mixed}");
        let half = stored_precision([("a.matrix", "Half")].into_iter()).unwrap_err().to_string();
        assert!(half.contains("weights in half") && half.contains("'a.matrix'"), "{half}");
    }
}
