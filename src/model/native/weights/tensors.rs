//! A module's tensors by name, and the reading helpers every part of the weights uses.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::ffi::torch::module_tensors;

/// Tensors of a module by name: shape and float64 values.
pub type Tensors = HashMap<String, (Vec<usize>, Vec<f64>)>;

/// The module's tensors, after checking that its weights are float64: the dtype the tensors
/// hold decides, not the definition's "precision" (DeePMD-kit's "default" is float64 unless
/// the build says otherwise, and a definition may leave the key out).
pub fn read_tensors(path: &str) -> Result<Tensors> {
    let named = module_tensors(path)?;
    check_float64(named.iter().filter(|t| !t.values.is_empty()).map(|t| (t.name.as_str(), t.dtype.as_str())))?;
    Ok(named
        .into_iter()
        .map(|t| (t.name, (t.shape.iter().map(|&s| s.max(0) as usize).collect(), t.values)))
        .collect())
}

/// Every floating-point tensor of the model in float64 (integer buffers and empty
/// placeholders do not count): the native evaluator computes in float64, so a float32 model
/// would not give its own numbers.
pub fn check_float64<'a>(dtypes: impl Iterator<Item = (&'a str, &'a str)>) -> Result<()> {
    let floating = |d: &str| matches!(d, "Double" | "Float" | "Half" | "BFloat16");
    let mut other: Vec<(&str, &str)> = dtypes.filter(|&(_, d)| floating(d) && d != "Double").collect();
    other.sort_unstable();
    match other.first() {
        None => Ok(()),
        Some((name, dtype)) => Err(unsupported(format!(
            "weights in {} ({} tensors, e.g. '{name}'; the native evaluator computes in float64 only)",
            if *dtype == "Float" { "float32".to_string() } else { dtype.to_lowercase() },
            other.len()
        ))),
    }
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


#[cfg(test)]
mod tests {
    use super::check_float64;

    #[test]
    fn float64_weights_pass_and_integer_buffers_do_not_count() {
        assert!(check_float64([("a.matrix", "Double"), ("a.sel", "Long"), ("mask", "Bool")].into_iter()).is_ok());
    }

    #[test]
    fn float32_weights_are_refused_by_name() {
        let e = check_float64([("a.matrix", "Double"), ("b.bias", "Float"), ("c.idt", "Float")].into_iter()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("float32") && msg.contains("2 tensors") && msg.contains("'b.bias'"), "{msg}");
    }
}
