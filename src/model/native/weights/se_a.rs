//! The two-body descriptors' weights, se_e2_a and its radial variant se_e2_r: statistics per
//! type block and the embedding of each type pair (or neighbor type), a net or, in a
//! compressed model, its table.

use super::net::{cast, read_mlp, Mlp};
use super::tabulate;
use super::tensors::{block_stats, get, sel_of, unsupported, Tensors};
use crate::model::native::env::se_a_row;
use crate::error::Result;
use crate::model::native::real::Real;

/// A compressed model's embedding (`dp --pt compress`): G_c(s) as quintic polynomials on a
/// fine grid `[lower, upper)` and a coarse one `[upper, max)`, constant beyond; `data` row
/// `idx` holds the 6 coefficients, in t = s - (start of interval idx), as `[6][m]`
/// (`coefficient_major`), in the evaluator's precision `R`; the grid stays in f64.
#[derive(Debug, Clone)]
pub struct Table<R = f64> {
    pub data: Vec<R>,
    pub m: usize,
    pub lower: f64,
    pub upper: f64,
    pub max: f64,
    pub stride0: f64,
    pub stride1: f64,
    pub nfine: i64,
    pub last: i64,
    pub rows: usize,
    /// A table built from the net at load time (`tabulate.rs`) keeps the net for s outside
    /// its range; DeePMD-kit's tables hold the end value there.
    pub exact: Option<Box<Mlp>>,
}

impl<R: Real> Table<R> {
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
    #[inline(always)]
    pub fn eval<const FUSED: bool>(&self, s: f64, g: &mut [R], dg: &mut [R]) {
        match &self.exact {
            Some(net) if !(s >= self.lower && s < self.upper) => {
                let [v, d, _] = tabulate::value_slope_curvature(net, s);
                g.iter_mut().zip(&v).for_each(|(a, &b)| *a = R::of(b));
                dg.iter_mut().zip(&d).for_each(|(a, &b)| *a = R::of(b));
            }
            _ => self.interpolate::<FUSED>(s, g, dg),
        }
    }

    /// The table's polynomial at s (its end values beyond the range), each Horner step
    /// fused when `FUSED`.
    #[inline(always)]
    pub fn interpolate<const FUSED: bool>(&self, s: f64, g: &mut [R], dg: &mut [R]) {
        let (idx, t) = self.locate(s);
        let t = R::of(t);
        let [two, three, four, five] = [2.0, 3.0, 4.0, 5.0].map(R::of);
        let idx = idx.min(self.rows - 1); // never past the table, whatever the rounding
        let m = self.m;
        let row = &self.data[idx * 6 * m..(idx + 1) * 6 * m];
        let (a0, rest) = row.split_at(m);
        let (a1, rest) = rest.split_at(m);
        let (a2, rest) = rest.split_at(m);
        let (a3, rest) = rest.split_at(m);
        let (a4, a5) = rest.split_at(m);
        let (g, dg) = (&mut g[..m], &mut dg[..m]);
        let (a0, a1, a2, a3, a4, a5) = (&a0[..m], &a1[..m], &a2[..m], &a3[..m], &a4[..m], &a5[..m]);
        for c in 0..m {
            let h = |p: R, a: R| p.madd::<FUSED>(t, a);
            g[c] = h(h(h(h(h(a5[c], a4[c]), a3[c]), a2[c]), a1[c]), a0[c]);
            dg[c] = h(h(h(h(five * a5[c], four * a4[c]), three * a3[c]), two * a2[c]), a1[c]);
        }
    }
}

/// Rows of 6 coefficients per output (`[c][6]`, DeePMD-kit's layout) as 6 runs of `m`
/// values per row (`[6][c]`), so one coefficient of all outputs is contiguous (SIMD).
pub fn coefficient_major(data: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; data.len()];
    for (src, dst) in data.chunks_exact(6 * m).zip(out.chunks_exact_mut(6 * m)) {
        for c in 0..m {
            for k in 0..6 {
                dst[k * m + c] = src[c * 6 + k];
            }
        }
    }
    out
}

impl Table<f64> {
    /// The table with its coefficients in precision `S`.
    fn cast<S: Real>(&self) -> Table<S> {
        Table { data: cast(&self.data), m: self.m, lower: self.lower, upper: self.upper, max: self.max, stride0: self.stride0,
                stride1: self.stride1, nfine: self.nfine, last: self.last, rows: self.rows, exact: self.exact.clone() }
    }
}

/// The embedding of one type pair: the net, or its table in a compressed model.
#[derive(Debug, Clone)]
pub enum Embedding<R = f64> {
    Net(Mlp<R>),
    Table(Table<R>),
}

impl<R: Real> Embedding<R> {
    pub fn n_out(&self) -> usize {
        match self {
            Embedding::Net(m) => m.n_out(),
            Embedding::Table(t) => t.m,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeAWeights<R = f64> {
    pub ntypes: usize,
    pub sel: Vec<usize>,
    /// Σ sel: the divisor of `S`.
    pub nnei: usize,
    pub rcut: f64,
    pub rcut_smth: f64,
    /// Last embedding width (M1) and axis neurons (M2; 1 for se_e2_r, whose output is M1 wide).
    pub m1: usize,
    pub axis: usize,
    pub type_one_side: bool,
    /// `[ti * ntypes + tj]` → mean / std of the 4 env components (constant over a block).
    pub mean: Vec<[f64; 4]>,
    pub std: Vec<[f64; 4]>,
    /// 1/std: the backward pass multiplies (`set_std` keeps the two together).
    pub inv_std: Vec<[f64; 4]>,
    /// Embedding nets (or tables) in DeePMD-kit's order (see `embedding_index`).
    pub embedding: Vec<Embedding<R>>,
    /// Where this descriptor starts in the fitting net's input.
    pub offset: usize,
    /// se_e2_r: the env row is `w/r` alone (its statistics in component 0; the others read
    /// mean 0, std 1) and the descriptor is `Σ_slots G / (5 Σsel)`, not `A^T A`.
    pub radial: bool,
}

impl SeAWeights<f64> {
    /// The weights with the nets or tables in precision `S`.
    pub fn cast<S: Real>(&self) -> SeAWeights<S> {
        let embedding = self
            .embedding
            .iter()
            .map(|e| match e {
                Embedding::Net(n) => Embedding::Net(n.cast()),
                Embedding::Table(t) => Embedding::Table(t.cast()),
            })
            .collect();
        SeAWeights {
            ntypes: self.ntypes,
            sel: self.sel.clone(),
            nnei: self.nnei,
            rcut: self.rcut,
            rcut_smth: self.rcut_smth,
            m1: self.m1,
            axis: self.axis,
            type_one_side: self.type_one_side,
            mean: self.mean.clone(),
            std: self.std.clone(),
            inv_std: self.inv_std.clone(),
            embedding,
            offset: self.offset,
            radial: self.radial,
        }
    }
}

impl<R: Real> SeAWeights<R> {
    pub fn set_std(&mut self, std: Vec<[f64; 4]>) {
        self.inv_std = std.iter().map(|s| s.map(|v| 1.0 / v)).collect();
        self.std = std;
    }

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

    /// What the descriptor is called in DeePMD-kit.
    pub fn name(&self) -> &'static str {
        if self.radial {
            "se_e2_r"
        } else {
            "se_e2_a"
        }
    }

    /// Width of the descriptor's output (`axis` is 1 for se_e2_r).
    pub fn width(&self) -> usize {
        self.m1 * self.axis
    }

    /// Tables instead of nets (a compressed model's, or built at load time).
    pub fn compressed(&self) -> bool {
        matches!(self.embedding.first(), Some(Embedding::Table(_)))
    }
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
    Ok(Embedding::Table(Table { data: coefficient_major(data, m), m, lower, upper, max, stride0, stride1, nfine, last, rows: shape[0], exact: None }))
}

/// Whether the embedding nets are one per neighbor type (`type_one_side`) or one per type
/// pair, from how many nets the module holds: a definition may leave the key out (DeePMD-kit
/// 3.2's descriptor then defaults to one side, its input checker to both sides), while the
/// nets are what the graph runs.
fn one_side(t: &Tensors, pre: &str, ntypes: usize) -> Result<bool> {
    let nets = format!("{pre}.filter_layers.networks.");
    let count = t.keys().filter(|k| k.strip_prefix(&nets).is_some_and(|rest| rest.ends_with(".layers.0.matrix"))).count();
    match count {
        n if n == ntypes => Ok(true),
        n if n == ntypes * ntypes => Ok(false),
        n => Err(unsupported(format!(
            "{n} embedding nets under '{nets}*' for {ntypes} types (expected {ntypes} or {})",
            ntypes * ntypes
        ))),
    }
}

/// Reads the se_e2_a part under `pre` (e.g. `atomic_model.descriptor.sea`), or with `radial`
/// an se_e2_r descriptor (`atomic_model.descriptor`), whose output starts at `offset` of the
/// fitting input.
/// `tabulate`: an uncompressed model's nets become tables (`tabulate.rs`); the largest
/// interpolation error measured is returned with the weights (None without such tables).
pub fn load(t: &Tensors, d: &serde_json::Value, pre: &str, ntypes: usize, offset: usize, tabulate: bool, radial: bool) -> Result<(SeAWeights, Option<f64>)> {
    let compressed = t.iter().any(|(k, v)| k.starts_with(&format!("{pre}.compress_data")) && !v.1.is_empty());
    let sel = sel_of(d, ntypes)?;
    let nnei: usize = sel.iter().sum();
    let (ncomp, name) = if radial { (1, "se_e2_r") } else { (4, "se_e2_a") };
    let mean = block_stats(&get(t, &format!("{pre}.mean"))?.1, &sel, ncomp, 0.0, &format!("{name} mean"))?;
    let std = block_stats(&get(t, &format!("{pre}.stddev"))?.1, &sel, ncomp, 1.0, &format!("{name} stddev"))?;
    let type_one_side = one_side(t, pre, ntypes)?;
    if radial && !type_one_side {
        return Err(unsupported("an se_e2_r descriptor with one embedding net per type pair"));
    }
    let n_embed = if type_one_side { ntypes } else { ntypes * ntypes };
    let nets: Vec<Mlp> =
        (0..n_embed).map(|k| read_mlp(t, &format!("{pre}.filter_layers.networks.{k}"), true)).collect::<Result<_>>()?;
    if nets.iter().any(|m| m.layers[0].n_in != 1) {
        return Err(unsupported("embedding nets that do not take one input"));
    }
    let embedding: Vec<Embedding> = if compressed {
        (0..n_embed).map(|k| table(t, pre, k, nets[k].n_out())).collect::<Result<_>>()?
    } else {
        nets.into_iter().map(Embedding::Net).collect()
    };
    let m1 = embedding[0].n_out();
    let axis = if radial { 1 } else { d["axis_neuron"].as_u64().unwrap_or(4) as usize };
    if embedding.iter().any(|m| m.n_out() != m1) || axis > m1 {
        return Err(unsupported("embedding nets of unexpected widths"));
    }
    let mut w = SeAWeights {
        ntypes,
        sel,
        nnei,
        rcut: d["rcut"].as_f64().unwrap_or(6.0),
        rcut_smth: d["rcut_smth"].as_f64().unwrap_or(0.5),
        m1,
        axis,
        type_one_side,
        mean,
        std: Vec::new(),
        inv_std: Vec::new(),
        embedding,
        offset,
        radial,
    };
    w.set_std(std);
    let table_error = (tabulate && !compressed).then(|| tabulate_nets(&mut w));
    Ok((w, table_error))
}

/// Replaces each embedding net by its table (`tabulate.rs`) over the s of the pairs it
/// serves, from the cutoff to `tabulate::R_MIN`; returns the largest interpolation error.
fn tabulate_nets(w: &mut SeAWeights) -> f64 {
    let s_of = |r: f64, b: usize| (se_a_row([r, 0.0, 0.0], w.rcut_smth, w.rcut)[0] - w.mean[b][0]) / w.std[b][0];
    let (mut lo, mut hi) = (vec![f64::INFINITY; w.embedding.len()], vec![f64::NEG_INFINITY; w.embedding.len()]);
    for ti in 0..w.ntypes {
        for tj in 0..w.ntypes {
            let (k, b) = (w.embedding_index(ti, tj), w.block(ti, tj));
            lo[k] = lo[k].min(s_of(w.rcut, b));
            hi[k] = hi[k].max(s_of(tabulate::R_MIN, b));
        }
    }
    let mut worst = 0.0f64;
    for (k, e) in w.embedding.iter_mut().enumerate() {
        if let Embedding::Net(net) = e {
            let (table, err) = tabulate::tabulate(net, lo[k], hi[k]);
            worst = worst.max(err);
            *e = Embedding::Table(table);
        }
    }
    worst
}
