//! Energy and its gradient for a chunk of local atoms: env rows → embedding nets (only on
//! real neighbors; the padded slots enter as a precomputed constant) → descriptor →
//! fitting net, then back again to one gradient per neighbor pair.
//!
//! A chunk works on its own scratch and writes pair gradients; the caller adds them to
//! the forces in a fixed order, so the result does not depend on the thread count.

use std::ops::Range;
use std::time::Instant;

use super::mlp::{self, Acts};
use super::se_e3;
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
            Embedding::Net(_) => &self.acts.last().expect("layers").y, // ok-panic: `forward` fills one entry per layer; `weights::mlp` refuses a net without layers
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

#[derive(Debug, Default)]
pub struct Scratch {
    pub groups: Vec<Group>,
    /// `[li][tj]` padded slots.
    pad: Vec<usize>,
    /// `[li][4][m1]`
    s_mat: Vec<f64>,
    ds_mat: Vec<f64>,
    /// `[li][m1*axis]`
    desc: Vec<f64>,
    ddesc: Vec<f64>,
    rows: Vec<usize>,
    x: Vec<f64>,
    fit_acts: Vec<Acts>,
    dy: Vec<f64>,
    tmp: Vec<f64>,
    dx: Vec<f64>,
    /// Center types of the chunk.
    ti: Vec<usize>,
    /// The se_e3 part of a hybrid: its neighbors and their gradients.
    pub se3: se_e3::Scratch,
    /// Set when a type selection would drop a neighbor in a model whose graph selects the
    /// nearest (`SeAWeights::sorted_nlist`): then nothing else of the chunk is valid.
    pub overflow: bool,
    /// Outputs: energy per atom of the chunk, and per pair (in group order) dE/d(x_j - x_i).
    pub energy: Vec<f64>,
    pub grad: Vec<[f64; 3]>,
    /// Seconds spent per phase (see `PHASES`), summed over calls until taken.
    pub seconds: [f64; PHASES.len()],
}

/// The phases of `run_chunk`, for the timing line.
pub const PHASES: [&str; 6] = ["pairs", "embedding", "descriptor", "fitting", "embedding backward", "three-body"];

fn lap(t: &mut Instant, acc: &mut f64) {
    let now = Instant::now();
    *acc += (now - *t).as_secs_f64();
    *t = now;
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

/// DeePMD-kit's smooth switch and its derivative in r.
#[inline]
pub(super) fn switch(r: f64, rmin: f64, rmax: f64) -> (f64, f64) {
    let inside = r > rmin && r < rmax;
    let uu = (r.clamp(rmin, rmax) - rmin) / (rmax - rmin);
    let uu2 = uu * uu;
    let w = uu2 * uu * (-6.0 * uu2 + 15.0 * uu - 10.0) + 1.0;
    let dw = if inside { (-30.0 * uu2 * uu2 + 60.0 * uu2 * uu - 30.0 * uu2) / (rmax - rmin) } else { 0.0 };
    (w, dw)
}

pub struct Inputs<'a> {
    pub coord: &'a [f64],
    pub atype: &'a [i64],
    pub nlist: &'a [i64],
    pub width: usize,
}

/// Evaluates local atoms `atoms`; results in `sc.energy`, `sc.grad` (pairs in
/// `sc.groups` order) and `sc.se3.grad` (unless `sc.overflow`).
pub fn run_chunk(w: &SeAWeights, pad_terms: &[Vec<f64>], inp: &Inputs, atoms: Range<usize>, sc: &mut Scratch) {
    let mut clock = Instant::now();
    let nt = w.ntypes;
    let (m1, axis) = (w.m1, w.axis);
    let na = atoms.len();
    let n_embed = w.embedding.len();
    sc.groups.resize_with(n_embed, Group::default);
    for g in &mut sc.groups {
        g.pairs.clear();
    }
    sc.overflow = false;
    sc.se3.clear();
    sc.ti.clear();
    sc.ti.extend(atoms.clone().map(|i| inp.atype[i] as usize));
    // 1. pairs, grouped by embedding net; per-type overflow beyond sel is dropped in row
    //    order, as DeePMD-kit's type split does for an unsorted list (a hybrid sorts first:
    //    there an overflow ends the chunk, see `SeAWeights::sorted_nlist`)
    let rc2 = w.rcut_model * w.rcut_model;
    sc.pad.clear();
    sc.pad.resize(na * nt, 0);
    for (li, i) in atoms.clone().enumerate() {
        let ti = sc.ti[li];
        let xi = &inp.coord[3 * i..3 * i + 3];
        let pad = &mut sc.pad[li * nt..(li + 1) * nt];
        pad.copy_from_slice(&w.sel);
        let start3 = sc.se3.nbs.len();
        for &e in &inp.nlist[i * inp.width..(i + 1) * inp.width] {
            if e < 0 {
                break;
            }
            let j = e as usize;
            let tj = inp.atype[j] as usize;
            let xj = &inp.coord[3 * j..3 * j + 3];
            let d = [xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]];
            if w.sorted_nlist {
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 > rc2 {
                    continue; // the graph drops it before selecting
                }
                if let Some(w3) = &w.se3 {
                    sc.se3.push(w3, li, j, tj, d, r2);
                }
                if pad[tj] == 0 {
                    sc.overflow = true;
                    return;
                }
            }
            if pad[tj] == 0 {
                continue;
            }
            pad[tj] -= 1;
            sc.groups[w.embedding_index(ti, tj)].pairs.push(Pair {
                li: li as u32,
                j: j as u32,
                block: w.block(ti, tj) as u32,
                d,
            });
        }
        if let Some(w3) = &w.se3 {
            if !sc.se3.finish_center(w3, start3) {
                sc.overflow = true;
                return;
            }
        }
    }
    lap(&mut clock, &mut sc.seconds[0]);
    // 2. env rows and embedding nets; S = Σ rr^T G
    let sm = 4 * m1;
    sc.s_mat.clear();
    sc.s_mat.resize(na * sm, 0.0);
    for (k, g) in sc.groups.iter_mut().enumerate() {
        let n = g.pairs.len();
        if n == 0 {
            continue;
        }
        g.rr.clear();
        g.s.clear();
        for p in &g.pairs {
            let r = (p.d[0] * p.d[0] + p.d[1] * p.d[1] + p.d[2] * p.d[2]).sqrt();
            let (sw, _) = switch(r, w.rcut_smth, w.rcut);
            let t0 = 1.0 / r;
            let r2 = r * r;
            let env = [t0 * sw, p.d[0] / r2 * sw, p.d[1] / r2 * sw, p.d[2] / r2 * sw];
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
    lap(&mut clock, &mut sc.seconds[1]);
    // 3. padded slots, A = S / nnei, descriptor D = A^T A[:, :axis] (at `sea_offset` of
    //    the fitting input, `ndt` wide)
    let nd = m1 * axis;
    let (ndt, off) = (w.ndesc, w.sea_offset);
    let inv = w.nnei as f64;
    sc.desc.clear();
    sc.desc.resize(na * ndt, 0.0);
    for li in 0..na {
        let ti = sc.ti[li];
        let a = &mut sc.s_mat[li * sm..(li + 1) * sm];
        for tj in 0..nt {
            let np = sc.pad[li * nt + tj];
            if np > 0 {
                let term = &pad_terms[w.block(ti, tj)];
                a.iter_mut().zip(term).for_each(|(v, &t)| *v += np as f64 * t);
            }
        }
        a.iter_mut().for_each(|v| *v /= inv);
        let d = &mut sc.desc[li * ndt + off..li * ndt + off + nd];
        for c in 0..m1 {
            for ax in 0..axis {
                d[c * axis + ax] = (0..4).map(|k| a[k * m1 + c] * a[k * m1 + ax]).sum();
            }
        }
    }
    lap(&mut clock, &mut sc.seconds[2]);
    if let Some(w3) = &w.se3 {
        se_e3::forward(w3, &sc.ti, &mut sc.desc, ndt, &mut sc.se3);
        lap(&mut clock, &mut sc.seconds[5]);
    }
    // 4. fitting nets per type, forward and backward: E_i and dE/dD
    sc.energy.clear();
    sc.energy.resize(na, 0.0);
    sc.ddesc.clear();
    sc.ddesc.resize(na * ndt, 0.0);
    for ti in 0..nt {
        sc.rows.clear();
        sc.rows.extend((0..na).filter(|&li| sc.ti[li] == ti));
        let m = sc.rows.len();
        if m == 0 {
            continue;
        }
        sc.x.clear();
        for &li in &sc.rows {
            sc.x.extend_from_slice(&sc.desc[li * ndt..(li + 1) * ndt]);
        }
        let net = &w.fitting[ti];
        mlp::forward(net, m, &sc.x, &mut sc.fit_acts);
        let out = &sc.fit_acts.last().expect("layers").y; // ok-panic: `forward` fills one entry per layer; `weights::mlp` refuses a net without layers
        for (r, &li) in sc.rows.iter().enumerate() {
            sc.energy[li] = (out[r] + w.bias_atom_e[ti]) + w.out_bias[ti];
        }
        sc.dy.clear();
        sc.dy.resize(m, 1.0);
        mlp::backward(net, m, &sc.fit_acts, &mut sc.dy, &mut sc.tmp, &mut sc.dx);
        for (r, &li) in sc.rows.iter().enumerate() {
            sc.ddesc[li * ndt..(li + 1) * ndt].copy_from_slice(&sc.dx[r * ndt..(r + 1) * ndt]);
        }
    }
    lap(&mut clock, &mut sc.seconds[3]);
    // 5. dE/dS from dE/dD: D[c,a] = Σ_k A[k,c] A[k,a]
    sc.ds_mat.clear();
    sc.ds_mat.resize(na * sm, 0.0);
    for li in 0..na {
        let a = &sc.s_mat[li * sm..(li + 1) * sm];
        let dd = &sc.ddesc[li * ndt + off..li * ndt + off + nd];
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
    // 6. back through the embedding nets and the env rows to one gradient per pair
    sc.grad.clear();
    for (k, g) in sc.groups.iter().enumerate() {
        let n = g.pairs.len();
        if n == 0 {
            continue;
        }
        let gg = g.embedding_output(&w.embedding[k]);
        sc.dy.clear();
        sc.dy.resize(n * m1, 0.0);
        sc.x.clear(); // drr, n × 4
        sc.x.resize(n * 4, 0.0);
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
                sc.x[4 * e + c] = acc;
            }
        }
        match &w.embedding[k] {
            Embedding::Net(net) => mlp::backward(net, n, &g.acts, &mut sc.dy, &mut sc.tmp, &mut sc.dx),
            Embedding::Table(_) => {
                sc.dx.clear();
                sc.dx.extend(sc.dy.chunks_exact(m1).zip(g.dg.chunks_exact(m1)).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>()));
            }
        }
        for (e, p) in g.pairs.iter().enumerate() {
            let std = &w.std[p.block as usize];
            let de: [f64; 4] = std::array::from_fn(|c| {
                let drr = sc.x[4 * e + c] + if c == 0 { sc.dx[e] } else { 0.0 };
                drr / std[c]
            });
            let d = p.d;
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            let r = r2.sqrt();
            let (sw, dsw) = switch(r, w.rcut_smth, w.rcut);
            // env0 = sw/r, env_{1+b} = sw d_b / r²
            let f0 = (dsw / r - sw / r2) / r;
            let dot = de[1] * d[0] + de[2] * d[1] + de[3] * d[2];
            let f1 = (dsw / r2 - 2.0 * sw / (r2 * r)) / r;
            let c0 = de[0] * f0 + dot * f1;
            sc.grad.push(std::array::from_fn(|a| c0 * d[a] + de[1 + a] * sw / r2));
        }
    }
    lap(&mut clock, &mut sc.seconds[4]);
    if let Some(w3) = &w.se3 {
        se_e3::backward(w3, &sc.ti, &sc.ddesc, ndt, &mut sc.se3);
        lap(&mut clock, &mut sc.seconds[5]);
    }
}
