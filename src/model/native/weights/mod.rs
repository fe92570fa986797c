//! The weights of a DeePMD-kit se_e2_a, se_e2_r or hybrid se_e2_a + se_e3 energy model, read from
//! the frozen `.pth`, and the checks that the native evaluator computes exactly what the
//! TorchScript graph would. One file per part: `se_a.rs`, `se_e3.rs`, `fitting.rs`, and the
//! nets they share (`net.rs`).
//!
//! What the graph does for se_e2_a (DeePMD-kit 3.2, PyTorch backend), written down once:
//! - env row of neighbor j of atom i, r = |x_j - x_i|, w = smooth switch(r):
//!   `[w/r, w·x/r², w·y/r², w·z/r²]`, normalized `(env - mean[ti, slot]) / std[ti, slot]`;
//!   the padded slots of each type block (`sel[t]` slots) have env 0, so they enter as
//!   `-mean/std`, not as zero.
//! - embedding net `networks[tj·ntypes + ti]` (`[tj]` with type_one_side) on the first
//!   normalized component; `S = Σ_slots rr^T G` (4 × M1), `A = S / Σsel`;
//!   descriptor `D[c, a] = Σ_k A[k, c] A[k, a]`, a < axis_neuron.
//! - fitting net of type ti on D (a hybrid: on its descriptors concatenated in list order),
//!   plus `bias_atom_e[ti]`, plus `out_bias[ti]`.
//! - a hybrid's `forward_lower` sorts each row by distance, drops neighbors beyond the
//!   model's cutoff and gives each descriptor the nearest `sel[t]` of each type.
//! - layers: `y = tanh(x W + b) (· idt) (+ x, or + [x, x] when the width doubles)`; the
//!   last fitting layer is linear.
//! - se_e2_r: the env row is `w/r` alone, normalized with its own statistics; one embedding
//!   net per neighbor type on it, and the descriptor `Σ_slots G / Σsel / 5` (padded slots
//!   included, as `G(-mean/std)`; the 1/5 is DeePMD-kit's `res_rescale`).

use crate::error::Result;
use crate::model::native::real::Real;

mod fitting;
mod net;
mod se_a;
mod se_e3;
mod tabulate;
mod tensors;

pub use fitting::FittingWeights;
pub use net::{Layer, Mlp};
pub use se_a::{Embedding, SeAWeights, Table};
pub use se_e3::SeTWeights;
use tensors::{read_tensors, unsupported};
pub use tensors::Stored;

/// Everything the native evaluator needs of one model, its nets in precision `R`.
#[derive(Debug, Clone)]
pub struct Weights<R = f64> {
    pub ntypes: usize,
    pub se_a: SeAWeights<R>,
    /// The three-body part of a hybrid se_e2_a + se_e3 model.
    pub se_e3: Option<SeTWeights<R>>,
    pub fitting: FittingWeights<R>,
    /// Width of the fitting net's input (all descriptors, concatenated).
    pub ndesc: usize,
    /// A hybrid's `forward_lower` sorts each row by distance before the per-type
    /// selection (the nearest `sel[t]` stay); this code keeps row order, so a step in which
    /// a selection would drop anybody goes through TorchScript.
    pub sorted_nlist: bool,
    /// The model's cutoff (the largest of its descriptors'): DeePMD-kit drops neighbors
    /// beyond it before selecting.
    pub rcut_model: f64,
    /// Embedding tables built at load time: the largest interpolation error measured,
    /// relative to max |G| (`tabulate.rs`).
    pub table_error: Option<f64>,
    /// The precision the model's nets are stored in (read here in f64, exactly).
    pub stored: Stored,
}

impl Weights<f64> {
    /// The weights with the nets and tables in precision `S`.
    pub fn cast<S: Real>(&self) -> Weights<S> {
        Weights {
            ntypes: self.ntypes,
            se_a: self.se_a.cast(),
            se_e3: self.se_e3.as_ref().map(SeTWeights::cast),
            fitting: self.fitting.cast(),
            ndesc: self.ndesc,
            sorted_nlist: self.sorted_nlist,
            rcut_model: self.rcut_model,
            table_error: self.table_error,
            stored: self.stored,
        }
    }
}

impl<R: Real> Weights<R> {
    /// What the model is, for the log: "se_e2_a", "se_e2_r" or "hybrid se_e2_a + se_e3" (and
    /// whether its embedding is tabulated).
    pub fn describe(&self) -> String {
        let compressed = match self.table_error {
            Some(e) => format!(", embedding tabulated at load (interpolation error {e:.0e} of max |G|; 'tabulate no' for the nets)"),
            None if self.se_a.compressed() => ", compressed".to_string(),
            None => String::new(),
        };
        match self.se_e3 {
            Some(_) => format!("hybrid se_e2_a + se_e3{compressed}"),
            None => format!("{}{compressed}", self.se_a.name()),
        }
    }
}

/// The checks every sub-descriptor passes: what the native code computes is exactly it.
fn check_descriptor(d: &serde_json::Value) -> Result<()> {
    check_tanh(d, d["type"].as_str().unwrap_or(""))?;
    if !empty(&d["exclude_types"]) {
        return Err(unsupported("excluded types"));
    }
    if d["env_protection"].as_f64().unwrap_or(0.0) != 0.0 {
        return Err(unsupported("env_protection != 0"));
    }
    Ok(())
}

/// A descriptor or fitting net (`what`) in tanh, the default when unset. Its precision is
/// read from the weights themselves (`tensors::stored_precision`).
fn check_tanh(v: &serde_json::Value, what: &str) -> Result<()> {
    let act = if v["activation_function"].is_null() { "tanh" } else { v["activation_function"].as_str().unwrap_or("") };
    if act != "tanh" {
        return Err(unsupported(format!("{what} activation '{act}' (the native evaluator knows tanh)")));
    }
    Ok(())
}

fn empty(v: &serde_json::Value) -> bool {
    v.is_null() || v.as_array().is_some_and(|a| a.is_empty())
}

/// The model's descriptors in the order the fitting net reads them, by kind, and whether
/// it is a hybrid (its tensors sit under `descrpt_list.k`, and it sorts rows).
struct Descriptors<'a> {
    list: Vec<&'a serde_json::Value>,
    /// Index of the two-body descriptor (se_e2_a, or se_e2_r on its own) in `list`, and of
    /// the se_e3 one if any.
    se_a: usize,
    radial: bool,
    se_e3: Option<usize>,
    hybrid: bool,
}

fn kind(v: &serde_json::Value) -> String {
    match v["type"].as_str().unwrap_or("") {
        "se_a" => "se_e2_a".to_string(),
        "se_r" => "se_e2_r".to_string(),
        "se_at" | "se_a_3be" => "se_e3".to_string(),
        k => k.to_string(),
    }
}

fn descriptors(d: &serde_json::Value) -> Result<Descriptors<'_>> {
    let list: Vec<&serde_json::Value> = match kind(d).as_str() {
        "se_e2_a" | "se_e2_r" => vec![d],
        "hybrid" => d["list"].as_array().map(|a| a.iter().collect()).unwrap_or_default(),
        other => {
            return Err(unsupported(format!(
                "descriptor '{other}' (the native evaluator knows se_e2_a, se_e2_r and hybrid se_e2_a + se_e3)"
            )))
        }
    };
    let kinds: Vec<String> = list.iter().map(|v| kind(v)).collect();
    let se_a = kinds.iter().position(|k| k == "se_e2_a");
    let se_e3 = kinds.iter().position(|k| k == "se_e3");
    let hybrid = kind(d) == "hybrid";
    if hybrid && (se_a.is_none() || kinds.len() != 1 + se_e3.is_some() as usize) {
        return Err(unsupported(format!("hybrid of {kinds:?} (the native evaluator knows se_e2_a + se_e3)")));
    }
    let radial = kinds == ["se_e2_r"];
    let se_a = if radial { Some(0) } else { se_a };
    let se_a = se_a.ok_or_else(|| unsupported("no se_e2_a descriptor"))?; // hybrid checked just above
    Ok(Descriptors { list, se_a, se_e3, hybrid, radial })
}

/// The model-level checks: an energy model without the extras the native code lacks.
fn check_model(def: &serde_json::Value, descriptors: &Descriptors) -> Result<()> {
    let f = &def["fitting_net"];
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    if s(&def["type"]) != "standard" && !def["type"].is_null() {
        return Err(unsupported(format!("model type '{}'", s(&def["type"]))));
    }
    if s(&f["type"]) != "ener" && !f["type"].is_null() {
        return Err(unsupported(format!("fitting '{}' (the native evaluator knows ener)", s(&f["type"]))));
    }
    for v in &descriptors.list {
        check_descriptor(v)?;
    }
    check_tanh(f, "fitting")?;
    if !empty(&def["pair_exclude_types"]) || !empty(&def["atom_exclude_types"]) {
        return Err(unsupported("excluded types"));
    }
    for k in ["numb_fparam", "numb_aparam", "dim_case_embd"] {
        if f[k].as_u64().unwrap_or(0) != 0 {
            return Err(unsupported(format!("fitting '{k}' > 0")));
        }
    }
    if !empty(&f["atom_ener"]) || f["remove_vaccum_contribution"].as_array().is_some_and(|a| !a.is_empty()) {
        return Err(unsupported("fixed atomic energies (atom_ener / remove_vaccum_contribution)"));
    }
    if def.get("use_srtab").is_some_and(|v| !v.is_null()) || def.get("spin").is_some_and(|v| !v.is_null()) {
        return Err(unsupported("a tabulated pair potential or spin"));
    }
    Ok(())
}

/// Width of each descriptor's output, from the definition (`neuron[-1]`, times
/// `axis_neuron` for se_e2_a).
fn widths(ds: &Descriptors) -> Vec<usize> {
    let axis = ds.list[ds.se_a]["axis_neuron"].as_u64().unwrap_or(4) as usize;
    (0..ds.list.len())
        .map(|k| {
            let neuron = ds.list[k]["neuron"].as_array().and_then(|a| a.last()).and_then(|x| x.as_u64()).unwrap_or(0) as usize;
            if k == ds.se_a && !ds.radial {
                neuron * axis
            } else {
                neuron
            }
        })
        .collect()
}

/// Reads and checks the model. `def` is the model's own JSON (`get_model_def_script`).
/// `tabulate`: turn an uncompressed model's embedding nets into tables (`tabulate.rs`).
pub fn load(path: &str, def: &serde_json::Value, type_map_len: usize, tabulate: bool) -> Result<Weights> {
    let ds = descriptors(&def["descriptor"])?;
    check_model(def, &ds)?;
    let (t, stored) = read_tensors(path)?;
    let ntypes = type_map_len;
    let prefix = |k: usize, short: &str| {
        if ds.hybrid {
            format!("atomic_model.descriptor.descrpt_list.{k}.{short}")
        } else {
            format!("atomic_model.descriptor.{short}")
        }
    };
    // offsets of the concatenation
    let width = widths(&ds);
    let offsets: Vec<usize> = width.iter().scan(0, |at, w| Some(std::mem::replace(at, *at + w))).collect();
    let ndesc: usize = width.iter().sum();
    let se_e3 = match ds.se_e3 {
        Some(k) => Some(se_e3::load(&t, ds.list[k], &prefix(k, "seat"), ntypes, offsets[k])?),
        None => None,
    };
    // se_e2_r's module is the descriptor itself; se_e2_a wraps its block as `sea`
    let pre = if ds.radial { "atomic_model.descriptor".to_string() } else { prefix(ds.se_a, "sea") };
    let (se_a, table_error) = se_a::load(&t, ds.list[ds.se_a], &pre, ntypes, offsets[ds.se_a], tabulate, ds.radial)?;
    let fitting = fitting::load(&t, ntypes, ndesc);
    if se_a.width() != width[ds.se_a] || ds.se_e3.zip(se_e3.as_ref()).is_some_and(|(k, s)| s.m != width[k]) {
        return Err(unsupported("descriptor widths that disagree with the definition's neuron / axis_neuron"));
    }
    let rcut_model = se_a.rcut.max(se_e3.as_ref().map_or(0.0, |s| s.rcut));
    Ok(Weights { ntypes, se_a, se_e3, fitting: fitting?, ndesc, sorted_nlist: ds.hybrid, rcut_model, table_error, stored })
}
