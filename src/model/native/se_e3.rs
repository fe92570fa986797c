//! The three-body se_e3 descriptor (DeePMD-kit's `DescrptSeT`, "se_at") as the second part
//! of a hybrid se_e2_a + se_e3 model: forward and analytic backward (weights in
//! `weights/se_e3.rs`).
//!
//! What the graph computes (DeePMD-kit 3.2, PyTorch backend), written down once. For a
//! center i of type ti and its neighbor slots (`sel[t]` per type t, nearest first):
//! - env row of neighbor j, r = |d|, w = smooth switch(r; rcut_smth, rcut):
//!   `rr_j = (w·d/r² - mean[ti, slot, 1:]) / std[ti, slot, 1:]` (the 1/r component is unused);
//! - for each type pair ta <= tb, over all slot pairs (j of type ta, k of type tb), including
//!   j == k and both orders when ta == tb: `e = rr_j · rr_k`,
//!   `R += Σ e · G_{ta,tb}(e) / (sel[ta] · sel[tb])`, G = embedding net `networks[tb·nt + ta]`;
//! - R (neuron[-1] values) is this descriptor's output.
//!
//! Padded slots and neighbors beyond rcut have w = 0, so `rr = -mean/std`; `load` requires
//! the mean of those components to be 0 (DeePMD-kit's statistics set it so), then such slots
//! give e = 0 with every partner and contribute nothing, to the energy or to its gradient.
//! Only neighbors inside rcut are therefore visited here.

use super::env::switch;
use super::mlp::{self, Acts};
use super::real::Real;
use super::weights::SeTWeights;

/// One neighbor of a center, inside the se_e3 cutoff.
#[derive(Debug, Clone, Copy)]
pub struct Nb {
    /// Chunk-local center and extended neighbor index.
    pub li: u32,
    pub j: u32,
    pub t: u32,
    pub d: [f64; 3],
    rr: [f64; 3],
}

/// One embedding net's triplets (center, two neighbors) of the chunk; e = rr_j · rr_k is
/// computed in f64 and kept in the evaluator's precision `R`.
#[derive(Debug, Default)]
struct Group<R> {
    /// Indices into `Scratch::nbs` and the factor (1 or 2 symmetry times 1/(sel·sel)).
    trip: Vec<(u32, u32, R)>,
    e: Vec<R>,
    acts: Vec<Acts<R>>,
}

#[derive(Debug, Default)]
pub struct Scratch<R> {
    /// The chunk's neighbors, by center, then by type (stable: row order within a type).
    pub nbs: Vec<Nb>,
    /// Per center, `ntypes + 1` bounds of its type runs in `nbs`.
    bounds: Vec<usize>,
    groups: Vec<Group<R>>,
    drr: Vec<[f64; 3]>,
    /// Per triplet: f·dR·G, the part of dE/de that does not go through the net.
    direct: Vec<R>,
    dy: Vec<R>,
    tmp: Vec<R>,
    dx: Vec<R>,
    /// Per neighbor (in `nbs` order): dE/d(x_j - x_i).
    pub grad: Vec<[f64; 3]>,
}

impl<R: Real> Scratch<R> {
    pub fn clear(&mut self) {
        self.nbs.clear();
        self.bounds.clear();
    }

    /// Adds neighbor j of center li if inside the cutoff.
    #[inline]
    pub fn push(&mut self, w: &SeTWeights<R>, li: usize, j: usize, t: usize, d: [f64; 3], r2: f64) {
        if r2 < w.rcut * w.rcut {
            self.nbs.push(Nb { li: li as u32, j: j as u32, t: t as u32, d, rr: [0.0; 3] });
        }
    }

    /// Closes center li's neighbors, pushed since `start`: orders them by type and records
    /// the runs. False when a type has more than `sel` of them (DeePMD-kit would keep the
    /// nearest: the caller sends the step to TorchScript).
    pub fn finish_center(&mut self, w: &SeTWeights<R>, start: usize) -> bool {
        let row = &mut self.nbs[start..];
        row.sort_by_key(|n| n.t); // stable
        let mut at = start;
        let mut within_sel = true;
        self.bounds.push(at);
        for t in 0..w.ntypes {
            let n = self.nbs[at..].iter().take_while(|nb| nb.t as usize == t).count();
            within_sel &= n <= w.sel[t];
            at += n;
            self.bounds.push(at);
        }
        within_sel
    }
}

/// Adds R of every center (rows of `desc`, `ndesc` wide, at `w.offset`). `ti[li]` is the
/// center's type; `sc` holds the neighbors from `push` / `finish_center`.
pub fn forward<R: Real>(w: &SeTWeights<R>, ti: &[usize], desc: &mut [R], ndesc: usize, sc: &mut Scratch<R>) {
    let nt = w.ntypes;
    let m = w.m;
    for nb in &mut sc.nbs {
        let d = nb.d;
        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        let (sw, _) = switch(r2.sqrt(), w.rcut_smth, w.rcut);
        let std = &w.std[ti[nb.li as usize] * nt + nb.t as usize];
        nb.rr = std::array::from_fn(|c| sw * d[c] / r2 / std[c]);
    }
    sc.groups.resize_with(nt * nt, Group::default);
    for g in &mut sc.groups {
        g.trip.clear();
        g.e.clear();
    }
    for li in 0..ti.len() {
        let b = &sc.bounds[li * (nt + 1)..(li + 1) * (nt + 1)];
        for ta in 0..nt {
            for tb in ta..nt {
                let g = &mut sc.groups[ta * nt + tb];
                let scale = 1.0 / (w.sel[ta] as f64 * w.sel[tb] as f64);
                let (once, twice) = (R::of(scale), R::of(2.0 * scale));
                for a in b[ta]..b[ta + 1] {
                    // same types: each unordered pair once, counted twice
                    let from = if ta == tb { a } else { b[tb] };
                    for c in from..b[tb + 1] {
                        let f = if ta == tb && c != a { twice } else { once };
                        let (x, y) = (&sc.nbs[a].rr, &sc.nbs[c].rr);
                        g.trip.push((a as u32, c as u32, f));
                        g.e.push(R::of(x[0] * y[0] + x[1] * y[1] + x[2] * y[2]));
                    }
                }
            }
        }
    }
    for (k, g) in sc.groups.iter_mut().enumerate() {
        let n = g.e.len();
        if n == 0 {
            continue;
        }
        mlp::forward(&w.nets[k], n, &g.e, &mut g.acts);
        let gg = &g.acts.last().expect("layers").y; // ok-panic: `forward` fills one entry per layer; `read_mlp` refuses a net without layers
        for (q, &(a, _, f)) in g.trip.iter().enumerate() {
            let li = sc.nbs[a as usize].li as usize;
            let fe = f * g.e[q];
            let out = &mut desc[li * ndesc + w.offset..li * ndesc + w.offset + m];
            out.iter_mut().zip(&gg[q * m..(q + 1) * m]).for_each(|(o, &gv)| *o += fe * gv);
        }
    }
}

/// From dE/dR (rows of `ddesc` at `w.offset`) to `sc.grad`, one dE/d(x_j - x_i) per
/// neighbor, using the activations of `forward`.
pub fn backward<R: Real>(w: &SeTWeights<R>, ti: &[usize], ddesc: &[R], ndesc: usize, sc: &mut Scratch<R>) {
    let nt = w.ntypes;
    let m = w.m;
    sc.drr.clear();
    sc.drr.resize(sc.nbs.len(), [0.0; 3]);
    for (k, g) in sc.groups.iter().enumerate() {
        let n = g.e.len();
        if n == 0 {
            continue;
        }
        // d(f·e·G(e))/de = f·(dR·G + e·dR·G'(e)): the second term through the net
        let gg = &g.acts.last().expect("layers").y; // ok-panic: as in `forward`
        sc.dy.clear();
        sc.dy.resize(n * m, R::ZERO);
        sc.direct.clear();
        for (q, &(a, _, f)) in g.trip.iter().enumerate() {
            let li = sc.nbs[a as usize].li as usize;
            let dr = &ddesc[li * ndesc + w.offset..li * ndesc + w.offset + m];
            let fe = f * g.e[q];
            let mut direct = R::ZERO;
            for ((dy, &dv), &gv) in sc.dy[q * m..(q + 1) * m].iter_mut().zip(dr).zip(&gg[q * m..(q + 1) * m]) {
                *dy = fe * dv;
                direct += dv * gv;
            }
            sc.direct.push(f * direct);
        }
        mlp::backward(&w.nets[k], n, &g.acts, &mut sc.dy, &mut sc.tmp, &mut sc.dx);
        for (q, &(a, c, _)) in g.trip.iter().enumerate() {
            let de = (sc.direct[q] + sc.dx[q]).f64();
            let (ra, rc) = (sc.nbs[a as usize].rr, sc.nbs[c as usize].rr);
            for x in 0..3 {
                sc.drr[a as usize][x] += de * rc[x];
                sc.drr[c as usize][x] += de * ra[x];
            }
        }
    }
    // rr_b = w·d_b / (r² std_b)
    sc.grad.clear();
    for (nb, drr) in sc.nbs.iter().zip(&sc.drr) {
        let std = &w.std[ti[nb.li as usize] * nt + nb.t as usize];
        let de: [f64; 3] = std::array::from_fn(|c| drr[c] / std[c]);
        let d = nb.d;
        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        let r = r2.sqrt();
        let (sw, dsw) = switch(r, w.rcut_smth, w.rcut);
        let f1 = (dsw / r2 - 2.0 * sw / (r2 * r)) / r;
        let c0 = (de[0] * d[0] + de[1] * d[1] + de[2] * d[2]) * f1;
        sc.grad.push(std::array::from_fn(|a| c0 * d[a] + de[a] * sw / r2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::native::test_support::{net, Lcg};

    /// Two types (sel 3 and 2), two centers; `ds[li]` = (type, d) of each neighbor.
    fn energy_and_grad(w: &SeTWeights, ti: &[usize], ds: &[Vec<(usize, [f64; 3])>], dr: &[f64]) -> (f64, Vec<[f64; 3]>) {
        let mut sc = Scratch::default();
        for (li, row) in ds.iter().enumerate() {
            let start = sc.nbs.len();
            for (j, &(t, d)) in row.iter().enumerate() {
                sc.push(w, li, j, t, d, d.iter().map(|x| x * x).sum());
            }
            assert!(sc.finish_center(w, start));
        }
        let mut desc = vec![0.0; ti.len() * w.m];
        forward(w, ti, &mut desc, w.m, &mut sc);
        let e = desc.iter().zip(dr).map(|(a, b)| a * b).sum();
        backward(w, ti, dr, w.m, &mut sc);
        // back to input order: nbs are sorted by type within a center
        let mut grad = vec![[0.0; 3]; ds.iter().map(|r| r.len()).sum()];
        let base: Vec<usize> = (0..ds.len()).map(|li| ds[..li].iter().map(|r| r.len()).sum()).collect();
        for (nb, g) in sc.nbs.iter().zip(&sc.grad) {
            grad[base[nb.li as usize] + nb.j as usize] = *g;
        }
        (e, grad)
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Lcg(7);
        let nt = 2;
        let w = SeTWeights {
            ntypes: nt,
            sel: vec![3, 2],
            rcut: 3.2,
            rcut_smth: 0.5,
            m: 4,
            offset: 0,
            std: (0..nt * nt).map(|_| std::array::from_fn(|_| 0.05 + 0.05 * rng.next().abs())).collect(),
            nets: (0..nt * nt).map(|_| net(&mut rng)).collect(),
        };
        let ti = [0, 1];
        let mut pt = |t: usize, r: f64| -> (usize, [f64; 3]) {
            let v: [f64; 3] = std::array::from_fn(|_| rng.next());
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            (t, v.map(|x| x / n * r))
        };
        // types interleaved (the scratch sorts them), radii across the switching range,
        // and one beyond the cutoff (ignored)
        let ds = vec![
            vec![pt(1, 2.1), pt(0, 1.9), pt(0, 2.9), pt(1, 3.05), pt(0, 1.2)],
            vec![pt(0, 2.5), pt(1, 1.7), pt(1, 3.5), pt(0, 2.2)],
        ];
        let dr: Vec<f64> = (0..ti.len() * w.m).map(|_| rng.next()).collect();
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
    }
}
