//! The se_e2_a descriptor, forward and backward, for a chunk of centers: env rows →
//! embedding nets (only on real neighbors; the padded slots enter as a precomputed
//! constant per type block) → `S = Σ rr^T G`, `A = S / Σsel`, `D = A^T A[:, :axis]`, and
//! back from dE/dD to one gradient per neighbor pair. See `weights/mod.rs` for what the
//! graph computes.

use super::env::{se_a_row, se_a_row_backward};
use super::mlp::{self, Acts};
use super::weights::{Embedding, SeAWeights};

/// One neighbor pair of the chunk.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    /// Chunk-local index of the center atom.
    pub li: u32,
    /// Extended index of the neighbor.
    pub j: u32,
    /// Block index `ti * ntypes + tj` (statistics).
    pub block: u32,
    pub d: [f64; 3],
}

/// One embedding net's pairs of the chunk and their activations.
#[derive(Debug, Default)]
pub struct Group {
    pub pairs: Vec<Pair>,
    rr: Vec<f64>,
    s: Vec<f64>,
    /// The net's activations (G = the last layer's output) ...
    acts: Vec<Acts>,
    /// ... or, for a table, G and dG/ds (`n × m1` each).
    g: Vec<f64>,
    dg: Vec<f64>,
}

impl Group {
    fn embedding_output(&self, e: &Embedding) -> &[f64] {
        match e {
            Embedding::Net(_) => &self.acts.last().expect("layers").y, // ok-panic: `forward` fills one entry per layer; `read_mlp` refuses a net without layers
            Embedding::Table(_) => &self.g,
        }
    }
}

/// Runs embedding `e` on the `n` values `s` into `grp` (activations or G, dG/ds).
fn embed(e: &Embedding, grp: &mut Group) {
    let n = grp.s.len();
    match e {
        Embedding::Net(net) => mlp::forward(net, n, &grp.s, &mut grp.acts),
        Embedding::Table(t) => {
            grp.g.resize(n * t.m, 0.0);
            grp.dg.resize(n * t.m, 0.0);
            for (k, &s) in grp.s.iter().enumerate() {
                t.eval(s, &mut grp.g[k * t.m..(k + 1) * t.m], &mut grp.dg[k * t.m..(k + 1) * t.m]);
            }
        }
    }
}

/// Padded-slot constants: for block (ti, tj), `rr_pad^T G(rr_pad[0])` (4 × m1).
pub fn padding_terms(w: &SeAWeights) -> Vec<Vec<f64>> {
    let mut grp = Group::default();
    let mut out = Vec::new();
    for ti in 0..w.ntypes {
        for tj in 0..w.ntypes {
            let b = w.block(ti, tj);
            let rr: [f64; 4] = std::array::from_fn(|k| (0.0 - w.mean[b][k]) / w.std[b][k]);
            let e = &w.embedding[w.embedding_index(ti, tj)];
            grp.s.clear();
            grp.s.push(rr[0]);
            embed(e, &mut grp);
            let g = grp.embedding_output(e);
            out.push((0..4).flat_map(|k| g.iter().map(move |&gc| rr[k] * gc)).collect());
        }
    }
    out
}

#[derive(Debug, Default)]
pub struct Scratch {
    pub groups: Vec<Group>,
    /// `[li][tj]` slots still free (padded).
    pad: Vec<usize>,
    /// `[li][4][m1]`: S, then A; and dE/dA.
    s_mat: Vec<f64>,
    ds_mat: Vec<f64>,
    dy: Vec<f64>,
    tmp: Vec<f64>,
    dx: Vec<f64>,
    /// dE/d(rr) of the pairs of one group, `n × 4`.
    drr: Vec<f64>,
    /// Per pair (in group order): dE/d(x_j - x_i).
    pub grad: Vec<[f64; 3]>,
}

impl Scratch {
    /// Starts a chunk of `na` centers.
    pub fn start(&mut self, w: &SeAWeights, na: usize) {
        self.groups.resize_with(w.embedding.len(), Group::default);
        for g in &mut self.groups {
            g.pairs.clear();
        }
        self.pad.clear();
        self.pad.resize(na * w.ntypes, 0);
    }

    /// Opens center `li`: all `sel[t]` slots of each type free.
    pub fn open_center(&mut self, w: &SeAWeights, li: usize) {
        self.pad[li * w.ntypes..(li + 1) * w.ntypes].copy_from_slice(&w.sel);
    }

    /// Whether center `li` has no free slot of type `tj` left.
    pub fn full(&self, w: &SeAWeights, li: usize, tj: usize) -> bool {
        self.pad[li * w.ntypes + tj] == 0
    }

    /// Neighbor `j` of type `tj` at `d` takes a slot of center `li` (type `ti`); without a
    /// free slot it is dropped, as DeePMD-kit's type split drops it in row order.
    pub fn push(&mut self, w: &SeAWeights, li: usize, ti: usize, j: usize, tj: usize, d: [f64; 3]) {
        let free = &mut self.pad[li * w.ntypes + tj];
        if *free == 0 {
            return;
        }
        *free -= 1;
        self.groups[w.embedding_index(ti, tj)].pairs.push(Pair { li: li as u32, j: j as u32, block: w.block(ti, tj) as u32, d });
    }
}

/// Env rows and embedding nets of every pair; `S = Σ rr^T G` per center.
pub fn forward_embedding(w: &SeAWeights, na: usize, sc: &mut Scratch) {
    let (m1, sm) = (w.m1, 4 * w.m1);
    sc.s_mat.clear();
    sc.s_mat.resize(na * sm, 0.0);
    for (k, g) in sc.groups.iter_mut().enumerate() {
        if g.pairs.is_empty() {
            continue;
        }
        g.rr.clear();
        g.s.clear();
        for p in &g.pairs {
            let env = se_a_row(p.d, w.rcut_smth, w.rcut);
            let (mean, std) = (&w.mean[p.block as usize], &w.std[p.block as usize]);
            let rr: [f64; 4] = std::array::from_fn(|c| (env[c] - mean[c]) / std[c]);
            g.rr.extend_from_slice(&rr);
            g.s.push(rr[0]);
        }
        embed(&w.embedding[k], g);
        let gg = g.embedding_output(&w.embedding[k]);
        for (e, p) in g.pairs.iter().enumerate() {
            let srow = &mut sc.s_mat[p.li as usize * sm..(p.li as usize + 1) * sm];
            let grow = &gg[e * m1..(e + 1) * m1];
            for c in 0..4 {
                let rk = g.rr[4 * e + c];
                for (s, &gv) in srow[c * m1..(c + 1) * m1].iter_mut().zip(grow) {
                    *s += rk * gv;
                }
            }
        }
    }
}

/// Adds the padded slots, `A = S / nnei`, and writes `D = A^T A[:, :axis]` into the rows
/// of `desc` (`ndesc` wide, at `w.offset`). `ti[li]`: center types.
pub fn forward_descriptor(w: &SeAWeights, pad_terms: &[Vec<f64>], ti: &[usize], desc: &mut [f64], ndesc: usize, sc: &mut Scratch) {
    let (nt, m1, axis) = (w.ntypes, w.m1, w.axis);
    let (sm, nd, off) = (4 * m1, m1 * axis, w.offset);
    let inv = w.nnei as f64;
    for (li, &t) in ti.iter().enumerate() {
        let a = &mut sc.s_mat[li * sm..(li + 1) * sm];
        for tj in 0..nt {
            let np = sc.pad[li * nt + tj];
            if np > 0 {
                let term = &pad_terms[w.block(t, tj)];
                a.iter_mut().zip(term).for_each(|(v, &x)| *v += np as f64 * x);
            }
        }
        a.iter_mut().for_each(|v| *v /= inv);
        let d = &mut desc[li * ndesc + off..li * ndesc + off + nd];
        for c in 0..m1 {
            for ax in 0..axis {
                d[c * axis + ax] = (0..4).map(|k| a[k * m1 + c] * a[k * m1 + ax]).sum();
            }
        }
    }
}

/// dE/dA of every center from dE/dD (rows of `ddesc` at `w.offset`):
/// `D[c,a] = Σ_k A[k,c] A[k,a]`, and `A = S / nnei`.
fn backward_descriptor(w: &SeAWeights, na: usize, ddesc: &[f64], ndesc: usize, sc: &mut Scratch) {
    let (m1, axis) = (w.m1, w.axis);
    let (sm, nd, off) = (4 * m1, m1 * axis, w.offset);
    let inv = w.nnei as f64;
    sc.ds_mat.clear();
    sc.ds_mat.resize(na * sm, 0.0);
    for li in 0..na {
        let a = &sc.s_mat[li * sm..(li + 1) * sm];
        let dd = &ddesc[li * ndesc + off..li * ndesc + off + nd];
        let ds = &mut sc.ds_mat[li * sm..(li + 1) * sm];
        for k in 0..4 {
            let ak = &a[k * m1..(k + 1) * m1];
            for c in 0..m1 {
                let mut v: f64 = (0..axis).map(|ax| dd[c * axis + ax] * ak[ax]).sum();
                if c < axis {
                    v += (0..m1).map(|c2| dd[c2 * axis + c] * ak[c2]).sum::<f64>();
                }
                ds[k * m1 + c] = v / inv;
            }
        }
    }
}

/// Back through the embedding net of group `k` to dE/d(rr) (`sc.drr`, plus the part
/// through G in `sc.dx`).
fn backward_embedding(w: &SeAWeights, k: usize, sc: &mut Scratch) {
    let m1 = w.m1;
    let sm = 4 * m1;
    let g = &sc.groups[k];
    let n = g.pairs.len();
    let gg = g.embedding_output(&w.embedding[k]);
    sc.dy.clear();
    sc.dy.resize(n * m1, 0.0);
    sc.drr.clear();
    sc.drr.resize(n * 4, 0.0);
    for (e, p) in g.pairs.iter().enumerate() {
        let ds = &sc.ds_mat[p.li as usize * sm..(p.li as usize + 1) * sm];
        let dg = &mut sc.dy[e * m1..(e + 1) * m1];
        let grow = &gg[e * m1..(e + 1) * m1];
        for c in 0..4 {
            let rk = g.rr[4 * e + c];
            let dsk = &ds[c * m1..(c + 1) * m1];
            let mut acc = 0.0;
            for ((dgv, &dsv), &gv) in dg.iter_mut().zip(dsk).zip(grow) {
                *dgv += rk * dsv;
                acc += dsv * gv;
            }
            sc.drr[4 * e + c] = acc;
        }
    }
    match &w.embedding[k] {
        Embedding::Net(net) => mlp::backward(net, n, &g.acts, &mut sc.dy, &mut sc.tmp, &mut sc.dx),
        Embedding::Table(_) => {
            sc.dx.clear();
            sc.dx.extend(sc.dy.chunks_exact(m1).zip(g.dg.chunks_exact(m1)).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>()));
        }
    }
}

/// From dE/dD (rows of `ddesc` at `w.offset`) to `sc.grad`, one dE/d(x_j - x_i) per pair
/// in group order, using the activations of the forward pass.
pub fn backward(w: &SeAWeights, na: usize, ddesc: &[f64], ndesc: usize, sc: &mut Scratch) {
    backward_descriptor(w, na, ddesc, ndesc, sc);
    sc.grad.clear();
    for k in 0..sc.groups.len() {
        if sc.groups[k].pairs.is_empty() {
            continue;
        }
        backward_embedding(w, k, sc);
        for (e, p) in sc.groups[k].pairs.iter().enumerate() {
            let std = &w.std[p.block as usize];
            let de: [f64; 4] = std::array::from_fn(|c| {
                let drr = sc.drr[4 * e + c] + if c == 0 { sc.dx[e] } else { 0.0 };
                drr / std[c]
            });
            sc.grad.push(se_a_row_backward(p.d, de, w.rcut_smth, w.rcut));
        }
    }
}
