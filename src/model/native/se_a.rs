//! The two-body descriptors, forward and backward, for a chunk of centers: env rows →
//! embedding nets (only on real neighbors; the padded slots enter as a precomputed
//! constant per type block) → se_e2_a: `S = Σ rr^T G`, `A = S / Σsel`, `D = A^T A[:, :axis]`;
//! se_e2_r (`radial`): `S = Σ G`, `D = S / Σsel / 5`; and back from dE/dD to one gradient per
//! neighbor pair. See `weights/mod.rs` for what the graph computes.

use super::env::{se_a_row, se_a_row_backward};
use super::mlp::{self, Acts};
use super::real::Real;
use super::simd::dispatch;
use super::weights::{Embedding, SeAWeights, Table};

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

/// One embedding net's pairs of the chunk and their activations. The env rows stay in
/// f64, as in DeePMD-kit's graph, which casts only the nets' input and output.
#[derive(Debug, Default)]
pub struct Group<R> {
    pub pairs: Vec<Pair>,
    rr: Vec<f64>,
    s: Vec<f64>,
    /// The net's input (s in `R`) and activations (G = the last layer's output) ...
    x: Vec<R>,
    acts: Vec<Acts<R>>,
    /// ... or, for a table, G and dG/ds (`n × m1` each).
    g: Vec<R>,
    dg: Vec<R>,
}

impl<R: Real> Group<R> {
    fn embedding_output(&self, e: &Embedding<R>) -> &[R] {
        match e {
            Embedding::Net(_) => &self.acts.last().expect("layers").y, // ok-panic: `forward` fills one entry per layer; `read_mlp` refuses a net without layers
            Embedding::Table(_) => &self.g,
        }
    }
}

/// Runs embedding `e` on the `n` values `s` into `grp` (activations or G, dG/ds).
fn embed<R: Real>(e: &Embedding<R>, grp: &mut Group<R>) {
    let n = grp.s.len();
    match e {
        Embedding::Net(net) => {
            grp.x.clear();
            grp.x.extend(grp.s.iter().map(|&s| R::of(s)));
            mlp::forward(net, n, &grp.x, &mut grp.acts)
        }
        Embedding::Table(t) => {
            grp.g.resize(n * t.m, R::ZERO);
            grp.dg.resize(n * t.m, R::ZERO);
            table_rows(t, &grp.s, &mut grp.g, &mut grp.dg);
        }
    }
}

dispatch!(
    /// G and dG/ds of every s from table `t` into the rows of `g`, `dg`.
    fn table_rows = table_rows_body(t: &Table<R>, s: &[f64], g: &mut [R], dg: &mut [R])
);

#[inline(always)]
fn table_rows_body<R: Real, const FUSED: bool>(t: &Table<R>, s: &[f64], g: &mut [R], dg: &mut [R]) {
    for ((&s, g), dg) in s.iter().zip(g.chunks_exact_mut(t.m)).zip(dg.chunks_exact_mut(t.m)) {
        t.eval::<FUSED>(s, g, dg);
    }
}

dispatch!(
    /// `S += rr^T G` (se_e2_r: `S += G`) of each pair into its center's row of `s_mat`.
    fn accumulate_s = accumulate_s_body(pairs: &[Pair], rr: &[f64], gg: &[R], s_mat: &mut [R], m1: usize, radial: bool)
);

#[inline(always)]
fn accumulate_s_body<R: Real, const FUSED: bool>(pairs: &[Pair], rr: &[f64], gg: &[R], s_mat: &mut [R], m1: usize, radial: bool) {
    let sm = 4 * m1;
    for (e, p) in pairs.iter().enumerate() {
        let srow = &mut s_mat[p.li as usize * sm..(p.li as usize + 1) * sm];
        let grow = &gg[e * m1..(e + 1) * m1];
        if radial {
            srow[..m1].iter_mut().zip(grow).for_each(|(s, &gv)| *s += gv);
            continue;
        }
        for c in 0..4 {
            let rk = R::of(rr[4 * e + c]);
            for (s, &gv) in srow[c * m1..(c + 1) * m1].iter_mut().zip(grow) {
                *s = rk.madd::<FUSED>(gv, *s);
            }
        }
    }
}

/// DeePMD-kit's `res_rescale` of the se_e2_r descriptor.
const RADIAL_RESCALE: f64 = 1.0 / 5.0;

/// Padded-slot constants: for block (ti, tj), `rr_pad^T G(rr_pad[0])` (4 × m1), or
/// `G(rr_pad[0])` (m1) for se_e2_r.
pub fn padding_terms<R: Real>(w: &SeAWeights<R>) -> Vec<Vec<R>> {
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
            if w.radial {
                out.push(g.to_vec());
                continue;
            }
            out.push((0..4).flat_map(|k| g.iter().map(move |&gc| R::of(rr[k]) * gc)).collect());
        }
    }
    out
}

#[derive(Debug, Default)]
pub struct Scratch<R> {
    pub groups: Vec<Group<R>>,
    /// `[li][tj]` slots still free (padded).
    pad: Vec<usize>,
    /// `[li][4][m1]`: S, then A; and dE/dA.
    s_mat: Vec<R>,
    ds_mat: Vec<R>,
    dy: Vec<R>,
    tmp: Vec<R>,
    dx: Vec<R>,
    /// dE/d(rr) of the pairs of one group, `n × 4`, and dE/ds through G, `n`: in f64, where
    /// they go to the forces.
    drr: Vec<f64>,
    dsdx: Vec<f64>,
    /// Per pair (in group order): dE/d(x_j - x_i).
    pub grad: Vec<[f64; 3]>,
}

impl<R: Real> Scratch<R> {
    /// Starts a chunk of `na` centers.
    pub fn start(&mut self, w: &SeAWeights<R>, na: usize) {
        self.groups.resize_with(w.embedding.len(), Group::default);
        for g in &mut self.groups {
            g.pairs.clear();
        }
        self.pad.clear();
        self.pad.resize(na * w.ntypes, 0);
    }

    /// Opens center `li`: all `sel[t]` slots of each type free.
    pub fn open_center(&mut self, w: &SeAWeights<R>, li: usize) {
        self.pad[li * w.ntypes..(li + 1) * w.ntypes].copy_from_slice(&w.sel);
    }

    /// Whether center `li` has no free slot of type `tj` left.
    pub fn full(&self, w: &SeAWeights<R>, li: usize, tj: usize) -> bool {
        self.pad[li * w.ntypes + tj] == 0
    }

    /// Neighbor `j` of type `tj` at `d` takes a slot of center `li` (type `ti`); without a
    /// free slot it is dropped, as DeePMD-kit's type split drops it in row order.
    pub fn push(&mut self, w: &SeAWeights<R>, li: usize, ti: usize, j: usize, tj: usize, d: [f64; 3]) {
        let free = &mut self.pad[li * w.ntypes + tj];
        if *free == 0 {
            return;
        }
        *free -= 1;
        self.groups[w.embedding_index(ti, tj)].pairs.push(Pair { li: li as u32, j: j as u32, block: w.block(ti, tj) as u32, d });
    }
}

/// Env rows and embedding nets of every pair; `S = Σ rr^T G` per center.
pub fn forward_embedding<R: Real>(w: &SeAWeights<R>, na: usize, sc: &mut Scratch<R>) {
    let (m1, sm) = (w.m1, 4 * w.m1);
    sc.s_mat.clear();
    sc.s_mat.resize(na * sm, R::ZERO);
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
        accumulate_s(&g.pairs, &g.rr, gg, &mut sc.s_mat, m1, w.radial);
    }
}

/// Adds the padded slots, `A = S / nnei`, and writes `D = A^T A[:, :axis]` (se_e2_r:
/// `A / 5`) into the rows of `desc` (`ndesc` wide, at `w.offset`). `ti[li]`: center types.
pub fn forward_descriptor<R: Real>(
    w: &SeAWeights<R>,
    pad_terms: &[Vec<R>],
    ti: &[usize],
    desc: &mut [R],
    ndesc: usize,
    sc: &mut Scratch<R>,
) {
    let (nt, m1, axis) = (w.ntypes, w.m1, w.axis);
    let (sm, nd, off) = (4 * m1, w.width(), w.offset);
    let inv = R::of(w.nnei as f64);
    for (li, &t) in ti.iter().enumerate() {
        let a = &mut sc.s_mat[li * sm..(li + 1) * sm];
        for tj in 0..nt {
            let np = sc.pad[li * nt + tj];
            if np > 0 {
                let term = &pad_terms[w.block(t, tj)];
                let np = R::of(np as f64);
                a.iter_mut().zip(term).for_each(|(v, &x)| *v += np * x);
            }
        }
        a.iter_mut().for_each(|v| *v /= inv);
        let d = &mut desc[li * ndesc + off..li * ndesc + off + nd];
        if w.radial {
            d.iter_mut().zip(&a[..m1]).for_each(|(d, &v)| *d = v * R::of(RADIAL_RESCALE));
            continue;
        }
        for c in 0..m1 {
            for ax in 0..axis {
                d[c * axis + ax] = (0..4).map(|k| a[k * m1 + c] * a[k * m1 + ax]).sum();
            }
        }
    }
}

/// dE/dS of every center from dE/dD (rows of `ddesc` at `w.offset`):
/// `D[c,a] = Σ_k A[k,c] A[k,a]` (se_e2_r: `D = A / 5`), and `A = S / nnei`.
fn backward_descriptor<R: Real>(w: &SeAWeights<R>, na: usize, ddesc: &[R], ndesc: usize, sc: &mut Scratch<R>) {
    let (m1, axis) = (w.m1, w.axis);
    let (sm, nd, off) = (4 * m1, w.width(), w.offset);
    let inv = R::of(w.nnei as f64);
    sc.ds_mat.clear();
    sc.ds_mat.resize(na * sm, R::ZERO);
    if w.radial {
        for li in 0..na {
            let dd = &ddesc[li * ndesc + off..li * ndesc + off + nd];
            let ds = &mut sc.ds_mat[li * sm..li * sm + m1];
            ds.iter_mut().zip(dd).for_each(|(v, &r)| *v = r * R::of(RADIAL_RESCALE) / inv);
        }
        return;
    }
    for li in 0..na {
        let a = &sc.s_mat[li * sm..(li + 1) * sm];
        let dd = &ddesc[li * ndesc + off..li * ndesc + off + nd];
        let ds = &mut sc.ds_mat[li * sm..(li + 1) * sm];
        // four rows k at once: independent sums, not one chain of dependent additions
        for (c, row) in dd.chunks_exact(axis).enumerate() {
            let mut v = [R::ZERO; 4];
            for (ax, &r) in row.iter().enumerate() {
                for k in 0..4 {
                    v[k] += r * a[k * m1 + ax];
                }
            }
            for k in 0..4 {
                ds[k * m1 + c] = v[k];
            }
        }
        // the columns a < axis once more (D uses them twice): row c2 of dD, contiguous
        for (c2, row) in dd.chunks_exact(axis).enumerate() {
            for k in 0..4 {
                let akc2 = a[k * m1 + c2];
                ds[k * m1..k * m1 + axis].iter_mut().zip(row).for_each(|(v, &r)| *v += r * akc2);
            }
        }
        ds.iter_mut().for_each(|v| *v /= inv);
    }
}

/// Back through the embedding of group `k` to dE/d(rr) (`sc.drr`, plus the part through G
/// in `sc.dsdx`).
fn backward_embedding<R: Real>(w: &SeAWeights<R>, k: usize, sc: &mut Scratch<R>) {
    let n = sc.groups[k].pairs.len();
    sc.drr.clear();
    sc.drr.resize(n * 4, 0.0);
    sc.dsdx.clear();
    if w.radial {
        return radial_backward_embedding(w, k, sc);
    }
    match &w.embedding[k] {
        Embedding::Net(net) => {
            through_g(w, k, sc);
            let g = &sc.groups[k];
            mlp::backward(net, n, &g.acts, &mut sc.dy, &mut sc.tmp, &mut sc.dx);
            sc.dsdx.extend(sc.dx.iter().map(|v| v.f64()));
        }
        // dE/ds = Σ_c rr_c (dS_c · dG/ds): no per-pair dE/dG needed
        Embedding::Table(_) => {
            let g = &sc.groups[k];
            sc.dsdx.resize(n, 0.0);
            table_backward(&g.pairs, &g.rr, &g.g, &g.dg, &sc.ds_mat, w.m1, &mut sc.drr, &mut sc.dsdx);
        }
    }
}

dispatch!(
    /// Per pair, from its center's dE/dS and its table rows G, dG/ds: dE/d(rr) through S
    /// into `drr` (`n × 4`) and dE/ds through G into `dsdx` (`n`).
    fn table_backward = table_backward_body(
        pairs: &[Pair], rr: &[f64], g: &[R], dg: &[R], ds_mat: &[R], m1: usize, drr: &mut [f64], dsdx: &mut [f64],
    )
);

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn table_backward_body<R: Real, const FUSED: bool>(
    pairs: &[Pair], rr: &[f64], g: &[R], dg: &[R], ds_mat: &[R], m1: usize, drr: &mut [f64], dsdx: &mut [f64],
) {
    let sm = 4 * m1;
    for (e, p) in pairs.iter().enumerate() {
        let ds = &ds_mat[p.li as usize * sm..(p.li as usize + 1) * sm];
        let (grow, dgrow) = (&g[e * m1..(e + 1) * m1], &dg[e * m1..(e + 1) * m1]);
        let mut dx = 0.0;
        for c in 0..4 {
            let (a, b) = R::dot2::<FUSED>(&ds[c * m1..(c + 1) * m1], grow, dgrow);
            drr[4 * e + c] = a;
            dx += rr[4 * e + c] * b;
        }
        dsdx[e] = dx;
    }
}

/// se_e2_r: `S = Σ G(s)`, so dE/dG of a pair is its center's dE/dS and dE/ds goes through
/// G alone (`sc.dsdx`; `sc.drr` stays zero).
fn radial_backward_embedding<R: Real>(w: &SeAWeights<R>, k: usize, sc: &mut Scratch<R>) {
    let (m1, sm) = (w.m1, 4 * w.m1);
    let g = &sc.groups[k];
    let ds_of = |p: &Pair| &sc.ds_mat[p.li as usize * sm..p.li as usize * sm + m1];
    match &w.embedding[k] {
        Embedding::Net(net) => {
            sc.dy.clear();
            for p in &g.pairs {
                sc.dy.extend_from_slice(ds_of(p));
            }
            mlp::backward(net, g.pairs.len(), &g.acts, &mut sc.dy, &mut sc.tmp, &mut sc.dx);
            sc.dsdx.extend(sc.dx.iter().map(|v| v.f64()));
        }
        Embedding::Table(_) => {
            for (e, p) in g.pairs.iter().enumerate() {
                sc.dsdx.push(R::dot::<false>(ds_of(p), &g.dg[e * m1..(e + 1) * m1]));
            }
        }
    }
}

/// dE/dG of every pair of group `k` (`sc.dy`, n × m1) and dE/d(rr) through S (`sc.drr`).
fn through_g<R: Real>(w: &SeAWeights<R>, k: usize, sc: &mut Scratch<R>) {
    let (m1, sm) = (w.m1, 4 * w.m1);
    let g = &sc.groups[k];
    let n = g.pairs.len();
    let gg = g.embedding_output(&w.embedding[k]);
    sc.dy.clear();
    sc.dy.resize(n * m1, R::ZERO);
    for (e, p) in g.pairs.iter().enumerate() {
        let ds = &sc.ds_mat[p.li as usize * sm..(p.li as usize + 1) * sm];
        let dg = &mut sc.dy[e * m1..(e + 1) * m1];
        let grow = &gg[e * m1..(e + 1) * m1];
        for c in 0..4 {
            let rk = R::of(g.rr[4 * e + c]);
            let dsk = &ds[c * m1..(c + 1) * m1];
            for (dgv, &dsv) in dg.iter_mut().zip(dsk) {
                *dgv += rk * dsv;
            }
            sc.drr[4 * e + c] = R::dot::<false>(dsk, grow);
        }
    }
}

/// From dE/dD (rows of `ddesc` at `w.offset`) to `sc.grad`, one dE/d(x_j - x_i) per pair
/// in group order, using the activations of the forward pass.
pub fn backward<R: Real>(w: &SeAWeights<R>, na: usize, ddesc: &[R], ndesc: usize, sc: &mut Scratch<R>) {
    backward_descriptor(w, na, ddesc, ndesc, sc);
    sc.grad.clear();
    for k in 0..sc.groups.len() {
        if sc.groups[k].pairs.is_empty() {
            continue;
        }
        backward_embedding(w, k, sc);
        for (e, p) in sc.groups[k].pairs.iter().enumerate() {
            let inv_std = &w.inv_std[p.block as usize];
            let de: [f64; 4] = std::array::from_fn(|c| {
                let drr = sc.drr[4 * e + c] + if c == 0 { sc.dsdx[e] } else { 0.0 };
                drr * inv_std[c]
            });
            sc.grad.push(se_a_row_backward(p.d, de, w.rcut_smth, w.rcut));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::native::test_support::{net, Lcg};

    fn weights(rng: &mut Lcg, radial: bool) -> SeAWeights {
        let nt = 2;
        let std: Vec<[f64; 4]> = (0..nt * nt).map(|_| std::array::from_fn(|_| 0.2 + 0.1 * rng.next().abs())).collect();
        let mut w = SeAWeights {
            ntypes: nt,
            sel: vec![3, 2],
            nnei: 5,
            rcut: 3.2,
            rcut_smth: 0.5,
            m1: 4,
            axis: if radial { 1 } else { 2 },
            type_one_side: false,
            mean: (0..nt * nt).map(|_| std::array::from_fn(|_| 0.1 * rng.next())).collect(),
            std: Vec::new(),
            inv_std: Vec::new(),
            embedding: (0..nt * nt).map(|_| Embedding::Net(net(rng))).collect(),
            offset: 0,
            radial,
        };
        w.set_std(std);
        w
    }

    /// `Σ D·dr` over the centers `ti` and its gradient per neighbor, in input order;
    /// `ds[li]` = (type, d) of each neighbor of center li.
    fn energy_and_grad(w: &SeAWeights, ti: &[usize], ds: &[Vec<(usize, [f64; 3])>], dr: &[f64]) -> (f64, Vec<[f64; 3]>) {
        let mut sc = Scratch::default();
        sc.start(w, ti.len());
        for (li, row) in ds.iter().enumerate() {
            sc.open_center(w, li);
            for (j, &(t, d)) in row.iter().enumerate() {
                sc.push(w, li, ti[li], j, t, d);
            }
        }
        let nd = w.width();
        let mut desc = vec![0.0; ti.len() * nd];
        forward_embedding(w, ti.len(), &mut sc);
        forward_descriptor(w, &padding_terms(w), ti, &mut desc, nd, &mut sc);
        let e = desc.iter().zip(dr).map(|(a, b)| a * b).sum();
        backward(w, ti.len(), dr, nd, &mut sc);
        // back to input order: pairs are grouped by embedding net
        let base: Vec<usize> = (0..ds.len()).map(|li| ds[..li].iter().map(|r| r.len()).sum()).collect();
        let mut grad = vec![[0.0; 3]; ds.iter().map(|r| r.len()).sum()];
        let pairs = sc.groups.iter().flat_map(|g| g.pairs.iter());
        for (p, g) in pairs.zip(&sc.grad) {
            grad[base[p.li as usize] + p.j as usize] = *g;
        }
        (e, grad)
    }

    /// The per-pair loops of the AVX2 + FMA build (`simd.rs`, taken on CPUs that have them)
    /// give the baseline build's table rows, S sums and gradients to a rounding per product.
    #[test]
    fn simd_build_matches_the_baseline() {
        let mut rng = Lcg(5);
        let (m, rows) = (11, 30); // two AVX2 vectors and a tail; 20 fine + 10 coarse rows
        let t = Table::<f64> {
            data: (0..rows * 6 * m).map(|_| rng.next()).collect(),
            m,
            lower: 0.0,
            upper: 2.0,
            max: 4.0,
            stride0: 0.1,
            stride1: 0.2,
            nfine: 20,
            last: rows as i64 - 1,
            rows,
            exact: None,
        };
        let n = 13;
        let s: Vec<f64> = (0..n).map(|_| 2.0 + 2.1 * rng.next()).collect(); // both grids and beyond
        let pairs: Vec<Pair> = (0..n).map(|k| Pair { li: (k % 3) as u32, j: k as u32, block: 0, d: [0.0; 3] }).collect();
        let rr: Vec<f64> = (0..4 * n).map(|_| rng.next()).collect();
        let ds_mat: Vec<f64> = (0..3 * 4 * m).map(|_| rng.next()).collect();
        let baseline = || {
            let (mut g, mut dg, mut s_mat) = (vec![0.0; n * m], vec![0.0; n * m], vec![0.0; 3 * 4 * m]);
            let (mut drr, mut dsdx) = (vec![0.0; 4 * n], vec![0.0; n]);
            table_rows_body::<f64, false>(&t, &s, &mut g, &mut dg);
            accumulate_s_body::<f64, false>(&pairs, &rr, &g, &mut s_mat, m, false);
            table_backward_body::<f64, false>(&pairs, &rr, &g, &dg, &ds_mat, m, &mut drr, &mut dsdx);
            [g, dg, s_mat, drr, dsdx]
        };
        let dispatched = || {
            let (mut g, mut dg, mut s_mat) = (vec![0.0; n * m], vec![0.0; n * m], vec![0.0; 3 * 4 * m]);
            let (mut drr, mut dsdx) = (vec![0.0; 4 * n], vec![0.0; n]);
            table_rows(&t, &s, &mut g, &mut dg);
            accumulate_s(&pairs, &rr, &g, &mut s_mat, m, false);
            table_backward(&pairs, &rr, &g, &dg, &ds_mat, m, &mut drr, &mut dsdx);
            [g, dg, s_mat, drr, dsdx]
        };
        let (a, b) = (baseline(), dispatched());
        for (what, (x, y)) in ["G", "dG/ds", "S", "dE/drr", "dE/ds"].iter().zip(a.iter().zip(&b)) {
            assert!(x.iter().any(|v| v.abs() > 0.1), "{what}: a nontrivial result");
            for (u, v) in x.iter().zip(y) {
                assert!((u - v).abs() <= 1e-13 * (1.0 + u.abs()), "{what}: baseline {u}, dispatched {v}");
            }
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        backward_matches_finite_differences_for(false);
    }

    #[test]
    fn radial_backward_matches_finite_differences() {
        backward_matches_finite_differences_for(true);
    }

    fn backward_matches_finite_differences_for(radial: bool) {
        let mut rng = Lcg(11);
        let w = weights(&mut rng, radial);
        let ti = [0, 1];
        let mut pt = |t: usize, r: f64| -> (usize, [f64; 3]) {
            let v: [f64; 3] = std::array::from_fn(|_| rng.next());
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            (t, v.map(|x| x / n * r))
        };
        // types interleaved, radii across the switching range, padded slots left in both
        // centers, and one neighbor beyond the cutoff (zero row, zero gradient)
        let ds = vec![
            vec![pt(1, 2.1), pt(0, 1.9), pt(0, 2.9), pt(1, 3.5)],
            vec![pt(0, 2.5), pt(1, 1.7), pt(0, 0.4)],
        ];
        let dr: Vec<f64> = (0..ti.len() * w.width()).map(|_| rng.next()).collect();
        let (_, grad) = energy_and_grad(&w, &ti, &ds, &dr);
        let h = 1e-6;
        let mut k = 0;
        for li in 0..ds.len() {
            for n in 0..ds[li].len() {
                for a in 0..3 {
                    let mut plus = ds.clone();
                    plus[li][n].1[a] += h;
                    let mut minus = ds.clone();
                    minus[li][n].1[a] -= h;
                    let fd = (energy_and_grad(&w, &ti, &plus, &dr).0 - energy_and_grad(&w, &ti, &minus, &dr).0) / (2.0 * h);
                    let an = grad[k][a];
                    assert!((fd - an).abs() <= 1e-6 * (1.0 + an.abs()), "neighbor {li}/{n} axis {a}: fd {fd}, analytic {an}");
                }
                k += 1;
            }
        }
        assert!(grad.iter().flatten().any(|g| g.abs() > 1e-3), "a nontrivial gradient");
        assert_eq!(grad[3], [0.0; 3], "beyond the cutoff");
    }
}
