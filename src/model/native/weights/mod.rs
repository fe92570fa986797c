//! The weights of a DeePMD-kit se_e2_a (or hybrid se_e2_a + se_e3) energy model, read from
//! the frozen `.pth`, and the checks that the native evaluator computes exactly what the
//! TorchScript graph would. The se_e3 part is read and described in `se_e3.rs`.
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

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr};

use crate::error::{Error, Result};

/// One dense layer, `w` row-major `[n_in][n_out]`.
#[derive(Debug, Clone)]
pub struct Layer {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<f64>,
    pub b: Vec<f64>,
    pub idt: Option<Vec<f64>>,
    pub tanh: bool,
    /// Adds the input (same width) or the input twice (doubled width).
    pub resnet: bool,
}

impl Layer {
    /// How the input is added back: 0 none, 1 `+x`, 2 `+[x, x]`.
    pub fn skip(&self) -> usize {
        match self.resnet {
            true if self.n_out == self.n_in => 1,
            true if self.n_out == 2 * self.n_in => 2,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Mlp {
    pub layers: Vec<Layer>,
}

impl Mlp {
    pub fn n_out(&self) -> usize {
        self.layers.last().map_or(0, |l| l.n_out)
    }
}

/// A compressed model's embedding (`dp --pt compress`): G_c(s) as quintic polynomials on a
/// fine grid `[lower, upper)` and a coarse one `[upper, max)`, constant beyond; `data` row
/// `idx` holds 6 coefficients per output c, in t = s - (start of interval idx).
#[derive(Debug, Clone)]
pub struct Table {
    pub data: Vec<f64>,
    pub m: usize,
    pub lower: f64,
    pub upper: f64,
    pub max: f64,
    pub stride0: f64,
    pub stride1: f64,
    pub nfine: i64,
    pub last: i64,
    pub rows: usize,
}

impl Table {
    /// Interval and local coordinate of s, as DeePMD-kit's tabulate kernel locates them.
    #[inline]
    pub fn locate(&self, s: f64) -> (usize, f64) {
        if s < self.lower {
            (0, 0.0)
        } else if s < self.upper {
            let idx = ((s - self.lower) / self.stride0) as i64;
            (idx as usize, s - (idx as f64 * self.stride0 + self.lower))
        } else if s < self.max {
            let k = ((s - self.upper) / self.stride1) as i64;
            ((self.nfine + k) as usize, s - (k as f64 * self.stride1 + self.upper))
        } else {
            (self.last as usize, 0.0)
        }
    }

    /// G(s) and dG/ds into `g`, `dg` (`m` values each).
    #[inline]
    pub fn eval(&self, s: f64, g: &mut [f64], dg: &mut [f64]) {
        let (idx, t) = self.locate(s);
        let idx = idx.min(self.rows - 1); // never past the table, whatever the rounding
        let row = &self.data[idx * 6 * self.m..(idx + 1) * 6 * self.m];
        for ((a, gv), dv) in row.chunks_exact(6).zip(g.iter_mut()).zip(dg.iter_mut()) {
            *gv = a[0] + (a[1] + (a[2] + (a[3] + (a[4] + a[5] * t) * t) * t) * t) * t;
            *dv = a[1] + (2.0 * a[2] + (3.0 * a[3] + (4.0 * a[4] + 5.0 * a[5] * t) * t) * t) * t;
        }
    }
}

/// The embedding of one type pair: the net, or its table in a compressed model.
#[derive(Debug, Clone)]
pub enum Embedding {
    Net(Mlp),
    Table(Table),
}

impl Embedding {
    pub fn n_out(&self) -> usize {
        match self {
            Embedding::Net(m) => m.n_out(),
            Embedding::Table(t) => t.m,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeAWeights {
    pub ntypes: usize,
    pub sel: Vec<usize>,
    /// Σ sel: the divisor of `S`.
    pub nnei: usize,
    pub rcut: f64,
    pub rcut_smth: f64,
    /// Last embedding width (M1) and axis neurons (M2).
    pub m1: usize,
    pub axis: usize,
    pub type_one_side: bool,
    /// `[ti * ntypes + tj]` → mean / std of the 4 env components (constant over a block).
    pub mean: Vec<[f64; 4]>,
    pub std: Vec<[f64; 4]>,
    /// Embedding nets (or tables) in DeePMD-kit's order (see `embedding_index`).
    pub embedding: Vec<Embedding>,
    /// Fitting net per center type.
    pub fitting: Vec<Mlp>,
    pub bias_atom_e: Vec<f64>,
    pub out_bias: Vec<f64>,
    /// Where the se_e2_a descriptor starts in the fitting net's input, and that input's
    /// width (more than `m1 * axis` in a hybrid).
    pub sea_offset: usize,
    pub ndesc: usize,
    /// The three-body part of a hybrid se_e2_a + se_e3 model.
    pub se3: Option<super::se_e3::SeTWeights>,
    /// A hybrid's `forward_lower` sorts each row by distance before the per-type
    /// selection (the nearest `sel[t]` stay); this code keeps row order, so a step in which
    /// a selection would drop anybody goes through TorchScript.
    pub sorted_nlist: bool,
    /// The model's cutoff (the largest of its descriptors'): DeePMD-kit drops neighbors
    /// beyond it before selecting.
    pub rcut_model: f64,
}

impl SeAWeights {
    pub fn embedding_index(&self, ti: usize, tj: usize) -> usize {
        if self.type_one_side {
            tj
        } else {
            tj * self.ntypes + ti
        }
    }

    pub fn block(&self, ti: usize, tj: usize) -> usize {
        ti * self.ntypes + tj
    }

    /// What the model is, for the log: "se_e2_a" or "hybrid se_e2_a + se_e3" (and whether
    /// its embedding is tabulated).
    pub fn describe(&self) -> String {
        let compressed = if matches!(self.embedding.first(), Some(Embedding::Table(_))) { ", compressed" } else { "" };
        match self.se3 {
            Some(_) => format!("hybrid se_e2_a + se_e3{compressed}"),
            None => format!("se_e2_a{compressed}"),
        }
    }
}

pub(super) type Tensors = HashMap<String, (Vec<usize>, Vec<f64>)>;

extern "C" fn collect(ctx: *mut c_void, name: *const c_char, data: *const f64, shape: *const i64, ndim: usize) {
    // SAFETY: ctx is the &mut Tensors passed below; the C++ side passes valid pointers
    // for the duration of the call (data may be null for an empty tensor).
    let map = unsafe { &mut *(ctx as *mut Tensors) };
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned();
    let shape: Vec<usize> = unsafe { std::slice::from_raw_parts(shape, ndim) }.iter().map(|&s| s.max(0) as usize).collect();
    let n: usize = shape.iter().product();
    let values = if n == 0 || data.is_null() { Vec::new() } else { unsafe { std::slice::from_raw_parts(data, n) }.to_vec() };
    map.insert(name, (shape, values));
}

extern "C" {
    fn llzo_dp_module_tensors(
        path: *const c_char,
        sink: extern "C" fn(*mut c_void, *const c_char, *const f64, *const i64, usize),
        ctx: *mut c_void,
        message: *mut c_char,
        capacity: usize,
    ) -> i32;
}

fn read_tensors(path: &str) -> Result<Tensors> {
    let mut map = Tensors::new();
    let cpath = std::ffi::CString::new(path).map_err(|_| Error::Input(format!("model path '{path}' holds a NUL byte")))?;
    let mut msg = [0 as c_char; 512];
    // SAFETY: valid NUL-terminated path, a callback with the matching signature, a context
    // that outlives the call, and a zeroed message buffer of the stated capacity.
    let status = unsafe {
        llzo_dp_module_tensors(cpath.as_ptr(), collect, &mut map as *mut Tensors as *mut c_void, msg.as_mut_ptr(), msg.len())
    };
    if status != 0 {
        // SAFETY: NUL-terminated by snprintf in a zeroed buffer.
        let m = unsafe { CStr::from_ptr(msg.as_ptr()) }.to_string_lossy().into_owned();
        return Err(Error::Model(format!("reading the weights of '{path}': {m}")));
    }
    Ok(map)
}

/// Why the native evaluator does not take a model (it then runs through TorchScript).
pub(super) fn unsupported(what: impl Into<String>) -> Error {
    Error::Model(what.into())
}

pub(super) fn get<'a>(t: &'a Tensors, name: &str) -> Result<&'a (Vec<usize>, Vec<f64>)> {
    t.get(name).ok_or_else(|| unsupported(format!("no tensor '{name}' (not a standard se_e2_a / se_e3 energy model)")))
}

pub(super) fn mlp(t: &Tensors, prefix: &str, tanh_last: bool) -> Result<Mlp> {
    let mut layers = Vec::new();
    while let Some((shape, w)) = t.get(&format!("{prefix}.layers.{}.matrix", layers.len())) {
        let l = layers.len();
        if shape.len() != 2 {
            return Err(unsupported(format!("{prefix}.layers.{l}.matrix has shape {shape:?}")));
        }
        let (n_in, n_out) = (shape[0], shape[1]);
        let b = get(t, &format!("{prefix}.layers.{l}.bias"))?.1.clone();
        let idt = t.get(&format!("{prefix}.layers.{l}.idt")).map(|x| x.1.clone());
        if b.len() != n_out || idt.as_ref().is_some_and(|i| i.len() != n_out) {
            return Err(unsupported(format!("{prefix}.layers.{l}: bias/idt sizes disagree with {shape:?}")));
        }
        layers.push(Layer { n_in, n_out, w: w.clone(), b, idt, tanh: true, resnet: true });
    }
    if layers.is_empty() {
        return Err(unsupported(format!("no layers under '{prefix}'")));
    }
    if !tanh_last {
        // the fitting net's output layer: linear, no skip connection
        let last = layers.last_mut().expect("non-empty"); // ok-panic: emptiness returned an error just above
        last.tanh = false;
        last.resnet = false;
    }
    for w in layers.windows(2) {
        if w[0].n_out != w[1].n_in {
            return Err(unsupported(format!("'{prefix}' layer widths do not chain")));
        }
    }
    Ok(Mlp { layers })
}

fn table(t: &Tensors, pre: &str, k: usize, m: usize) -> Result<Embedding> {
    let (shape, data) = get(t, &format!("{pre}.compress_data.{k}"))?;
    let (_, info) = get(t, &format!("{pre}.compress_info.{k}"))?;
    if shape.len() != 2 || shape[1] != 6 * m || info.len() < 5 || !(info[3] > 0.0 && info[4] > 0.0) {
        return Err(unsupported(format!("compression table {k} of shape {shape:?} with info {info:?}")));
    }
    let (lower, upper, max, stride0, stride1) = (info[0], info[1], info[2], info[3], info[4]);
    let nfine = ((upper - lower) / stride0) as i64;
    let last = nfine + ((max - upper) / stride1) as i64 - 1;
    if shape[0] == 0 || last < 0 || last as usize >= shape[0] || nfine as usize > shape[0] {
        return Err(unsupported(format!("compression table {k}: {} rows for grid {info:?}", shape[0])));
    }
    Ok(Embedding::Table(Table { data: data.clone(), m, lower, upper, max, stride0, stride1, nfine, last, rows: shape[0] }))
}

/// The checks every sub-descriptor passes: what the native code computes is exactly it.
fn check_descriptor(d: &serde_json::Value) -> Result<()> {
    check_tanh_float64(d, d["type"].as_str().unwrap_or(""))?;
    if !empty(&d["exclude_types"]) {
        return Err(unsupported("excluded types"));
    }
    if d["env_protection"].as_f64().unwrap_or(0.0) != 0.0 {
        return Err(unsupported("env_protection != 0"));
    }
    Ok(())
}

/// A descriptor or fitting net (`what`) in tanh and float64, the defaults when unset.
fn check_tanh_float64(v: &serde_json::Value, what: &str) -> Result<()> {
    let field = |k: &str, default| if v[k].is_null() { default } else { v[k].as_str().unwrap_or("") };
    let act = field("activation_function", "tanh");
    if act != "tanh" {
        return Err(unsupported(format!("{what} activation '{act}' (the native evaluator knows tanh)")));
    }
    let prec = field("precision", "float64");
    if prec != "float64" {
        return Err(unsupported(format!("{what} precision '{prec}' (the native evaluator computes in float64 only)")));
    }
    Ok(())
}

fn empty(v: &serde_json::Value) -> bool {
    v.is_null() || v.as_array().is_some_and(|a| a.is_empty())
}

pub(super) fn sel_of(d: &serde_json::Value, ntypes: usize) -> Result<Vec<usize>> {
    let sel: Vec<usize> = d["sel"].as_array().map(|a| a.iter().filter_map(|x| x.as_u64()).map(|x| x as usize).collect()).unwrap_or_default();
    if sel.len() != ntypes {
        return Err(unsupported(format!("{} sel {sel:?} for {ntypes} types", d["type"].as_str().unwrap_or("descriptor"))));
    }
    Ok(sel)
}

/// Per-block statistics `[ti * ntypes + tj]` from DeePMD-kit's per-slot `[ntypes, Σsel, 4]`
/// tensor, which stats fill with one value per type block.
pub(super) fn block_stats(v: &[f64], sel: &[usize], what: &str) -> Result<Vec<[f64; 4]>> {
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

/// Where each sub-descriptor sits: its JSON, tensor prefix and offset in the descriptor
/// the fitting net reads (a hybrid concatenates its list in order).
struct Part<'a> {
    def: &'a serde_json::Value,
    prefix: String,
    offset: usize,
}

/// Reads and checks the model. `def` is the model's own JSON (`get_model_def_script`).
pub fn load(path: &str, def: &serde_json::Value, type_map_len: usize) -> Result<SeAWeights> {
    let d = &def["descriptor"];
    let f = &def["fitting_net"];
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let kind = |v: &serde_json::Value| match s(&v["type"]).as_str() {
        "se_a" => "se_e2_a".to_string(),
        "se_at" | "se_a_3be" => "se_e3".to_string(),
        k => k.to_string(),
    };
    // the descriptors, in the order the fitting net reads them
    let list: Vec<&serde_json::Value> = match kind(d).as_str() {
        "se_e2_a" => vec![d],
        "hybrid" => d["list"].as_array().map(|a| a.iter().collect()).unwrap_or_default(),
        other => {
            return Err(unsupported(format!(
                "descriptor '{other}' (the native evaluator knows se_e2_a and hybrid se_e2_a + se_e3)"
            )))
        }
    };
    let kinds: Vec<String> = list.iter().map(|v| kind(v)).collect();
    let ia = kinds.iter().position(|k| k == "se_e2_a");
    let i3 = kinds.iter().position(|k| k == "se_e3");
    if kind(d) == "hybrid" && (ia.is_none() || kinds.len() != 1 + i3.is_some() as usize) {
        return Err(unsupported(format!("hybrid of {kinds:?} (the native evaluator knows se_e2_a + se_e3)")));
    }
    let ia = ia.ok_or_else(|| unsupported("no se_e2_a descriptor"))?; // hybrid checked just above
    if s(&def["type"]) != "standard" && !def["type"].is_null() {
        return Err(unsupported(format!("model type '{}'", s(&def["type"]))));
    }
    if s(&f["type"]) != "ener" && !f["type"].is_null() {
        return Err(unsupported(format!("fitting '{}' (the native evaluator knows ener)", s(&f["type"]))));
    }
    for v in &list {
        check_descriptor(v)?;
    }
    check_tanh_float64(f, "fitting")?;
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

    let t = read_tensors(path)?;
    let ntypes = type_map_len;
    let hybrid = kind(d) == "hybrid"; // (its tensors sit under descrpt_list.k, and it sorts rows)
    let prefix = |k: usize, short: &str| {
        if hybrid {
            format!("atomic_model.descriptor.descrpt_list.{k}.{short}")
        } else {
            format!("atomic_model.descriptor.{short}")
        }
    };
    // descriptor widths, for the offsets of the concatenation
    let sea_def = list[ia];
    let axis = sea_def["axis_neuron"].as_u64().unwrap_or(4) as usize;
    let width = |k: usize| -> usize {
        let neuron = list[k]["neuron"].as_array().and_then(|a| a.last()).and_then(|x| x.as_u64()).unwrap_or(0) as usize;
        if k == ia {
            neuron * axis
        } else {
            neuron
        }
    };
    let mut offsets = Vec::new();
    let mut total = 0;
    for k in 0..list.len() {
        offsets.push(total);
        total += width(k);
    }
    let sea = Part { def: sea_def, prefix: prefix(ia, "sea"), offset: offsets[ia] };
    let se3 = match i3 {
        Some(k) => Some(super::se_e3::load(&t, list[k], &prefix(k, "seat"), ntypes, offsets[k])?),
        None => None,
    };
    let mut w = load_sea(&t, &sea, ntypes)?;
    w.sorted_nlist = hybrid;
    w.rcut_model = w.rcut.max(se3.as_ref().map_or(0.0, |s| s.rcut));
    w.se3 = se3;
    w.ndesc = total;
    let fitting: Vec<Mlp> = (0..ntypes)
        .map(|k| mlp(&t, &format!("atomic_model.fitting_net.filter_layers.networks.{k}"), false))
        .collect::<Result<_>>()?;
    if w.m1 * w.axis != width(ia) || i3.zip(w.se3.as_ref()).is_some_and(|(k, s)| s.m != width(k)) {
        return Err(unsupported("descriptor widths that disagree with the definition's neuron / axis_neuron"));
    }
    if fitting.iter().any(|m| m.layers[0].n_in != total || m.n_out() != 1) {
        return Err(unsupported(format!("fitting nets that do not take the {total}-wide descriptor to one energy")));
    }
    let per_type = |name: &str| -> Result<Vec<f64>> {
        let v = &get(&t, name)?.1;
        if v.len() != ntypes {
            return Err(unsupported(format!("'{name}' holds {} values for {ntypes} types", v.len())));
        }
        Ok(v.clone())
    };
    w.fitting = fitting;
    w.bias_atom_e = per_type("atomic_model.fitting_net.bias_atom_e")?;
    w.out_bias = per_type("atomic_model.out_bias")?;
    Ok(w)
}

/// The se_e2_a part: statistics and embedding nets (or tables). Fitting and biases are
/// filled in by `load`.
fn load_sea(t: &Tensors, part: &Part, ntypes: usize) -> Result<SeAWeights> {
    let (d, pre) = (part.def, part.prefix.as_str());
    let compressed = t.iter().any(|(k, v)| k.starts_with(&format!("{pre}.compress_data")) && !v.1.is_empty());
    let sel = sel_of(d, ntypes)?;
    let nnei: usize = sel.iter().sum();
    let mean = block_stats(&get(t, &format!("{pre}.mean"))?.1, &sel, "se_e2_a mean")?;
    let std = block_stats(&get(t, &format!("{pre}.stddev"))?.1, &sel, "se_e2_a stddev")?;
    let type_one_side = d["type_one_side"].as_bool().unwrap_or(false);
    let n_embed = if type_one_side { ntypes } else { ntypes * ntypes };
    let nets: Vec<Mlp> =
        (0..n_embed).map(|k| mlp(t, &format!("{pre}.filter_layers.networks.{k}"), true)).collect::<Result<_>>()?;
    if nets.iter().any(|m| m.layers[0].n_in != 1) {
        return Err(unsupported("embedding nets that do not take one input"));
    }
    let embedding: Vec<Embedding> = if compressed {
        (0..n_embed).map(|k| table(t, pre, k, nets[k].n_out())).collect::<Result<_>>()?
    } else {
        nets.into_iter().map(Embedding::Net).collect()
    };
    let m1 = embedding[0].n_out();
    let axis = d["axis_neuron"].as_u64().unwrap_or(4) as usize;
    if embedding.iter().any(|m| m.n_out() != m1) || axis > m1 {
        return Err(unsupported("embedding nets of unexpected widths"));
    }
    let rcut = d["rcut"].as_f64().unwrap_or(6.0);
    Ok(SeAWeights {
        ntypes,
        sel,
        nnei,
        rcut,
        rcut_smth: d["rcut_smth"].as_f64().unwrap_or(0.5),
        m1,
        axis,
        type_one_side,
        mean,
        std,
        embedding,
        fitting: Vec::new(),
        bias_atom_e: Vec::new(),
        out_bias: Vec::new(),
        sea_offset: part.offset,
        ndesc: m1 * axis,
        se3: None,
        sorted_nlist: false,
        rcut_model: rcut,
    })
}
