//! A fixed local-environment descriptor per atom, for the coverage monitor.
//!
//! It is not the model's descriptor: it must not change when the model is retrained, so
//! the same reference file can judge frames for any model with the same cutoff and type
//! map. It only needs to be smooth and invariant (rotation, translation, permutation).
//!
//! For a center atom `i`, neighbors `j` (within `rcut`) of element `e_j`, `r = |r_ij|`,
//! `u = r_ij / r`:
//!
//! ```text
//! fc(r)     = (1 + cos(pi r / rcut)) / 2                   (r < rcut, else 0)
//! g_k(r)    = exp(-(r - mu_k)^2 / (2 sigma^2)),  mu_k = r_min + k sigma,
//!             sigma = (rcut - r_min) / (K - 1),  k = 0..K-1
//! w_ek(j)   = [e_j = e] g_k(r) fc(r)
//! A0[e,k]   = sum_j w_ek(j)                                 (l = 0, scalar)
//! A1[e,k]   = sum_j w_ek(j) u                               (l = 1, vector)
//! A2[e,k]   = sum_j w_ek(j) (u u^T - I/3)                   (l = 2, traceless tensor)
//! ```
//! Features (p = E K + 2 K E(E+1)/2 for E elements):
//! `A0[e,k]` at `e K + k`; then, for element pairs `q = (e, e')`, `e <= e'`, in
//! lexicographic order, `A1[e,k] . A1[e',k]` at `E K + q K + k` and the Frobenius
//! product `A2[e,k] : A2[e',k]` at `E K + P K + q K + k` (`P` = number of pairs).
//! Everything is O(neighbors) per atom; fc makes every term go to zero with zero slope
//! at `rcut`, so a neighbor crossing the cutoff changes nothing abruptly.
//!
//! The K radial weights `g_k(r) fc(r)` come from a table of values and slopes (cubic
//! Hermite, built once per [`Featurizer`]) instead of a cosine and exponentials per
//! neighbor: within `TABLE_TOLERANCE` of the formula (tested), far below the grid cells
//! the features end up in.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::frames::{images, Frame};

/// Bumped whenever the formula above or the feature order changes: a reference file
/// built with another version is refused.
pub const FEATURE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    /// Number of elements (the model's type map length).
    pub n_types: usize,
    /// Cutoff radius (Å), the model's.
    pub rcut: f64,
    /// Number of radial Gaussians K (>= 2).
    pub n_radial: usize,
    /// Center of the first Gaussian (Å).
    pub r_min: f64,
}

impl FeatureParams {
    pub fn new(n_types: usize, rcut: f64) -> Self {
        FeatureParams { n_types, rcut, n_radial: 8, r_min: 1.0 }
    }

    pub fn validate(&self) -> Result<()> {
        if self.n_types == 0 || self.n_radial < 2 || !(self.rcut > 0.0) || !(self.r_min >= 0.0) || self.r_min >= self.rcut {
            return Err(Error::Input(format!(
                "coverage features: need n_types >= 1, n_radial >= 2 and 0 <= r_min < rcut (got {self:?})"
            )));
        }
        Ok(())
    }

    fn n_pairs(&self) -> usize {
        self.n_types * (self.n_types + 1) / 2
    }

    /// Number of features p.
    pub fn len(&self) -> usize {
        self.n_types * self.n_radial + 2 * self.n_pairs() * self.n_radial
    }

    fn sigma(&self) -> f64 {
        (self.rcut - self.r_min) / (self.n_radial - 1) as f64
    }
}

/// Atoms and neighbors in the model's convention (see `neighbors::ExtendedAtoms`):
/// local atoms first, then images; `nlist` is `[nloc * width]`, padded with -1.
pub struct Neighborhood<'a> {
    /// `[nall * 3]` Cartesian coordinates (Å).
    pub coords: &'a [f64],
    /// Element (model type, 0-based) of each extended atom.
    pub types: &'a [i64],
    pub nloc: usize,
    pub nlist: &'a [i64],
}

impl Neighborhood<'_> {
    fn check(&self, n_types: usize) -> Result<usize> {
        let nall = self.types.len();
        if self.coords.len() != 3 * nall || self.nloc > nall {
            return Err(Error::Internal(format!(
                "coverage features: {} coordinates, {nall} types, {} local atoms",
                self.coords.len(),
                self.nloc
            )));
        }
        if let Some(t) = self.types.iter().find(|&&t| t < 0 || t as usize >= n_types) {
            return Err(Error::Input(format!("coverage features: atom type {t} outside the type map ({n_types} types)")));
        }
        if self.nloc == 0 {
            return Ok(0);
        }
        if !self.nlist.len().is_multiple_of(self.nloc) {
            return Err(Error::Internal(format!("coverage features: nlist of {} for {} atoms", self.nlist.len(), self.nloc)));
        }
        if let Some(j) = self.nlist.iter().find(|&&j| j >= nall as i64) {
            return Err(Error::Internal(format!("coverage features: neighbor index {j} >= {nall}")));
        }
        Ok(self.nlist.len() / self.nloc)
    }
}

/// Largest difference between a tabulated radial weight and the formula (weights are
/// at most 1); `RadialTable::new` picks the spacing for it.
pub const TABLE_TOLERANCE: f64 = 1e-9;

/// `w_k(r) = g_k(r) fc(r)` for k = 0..K at nodes `r = i h`, `i = 0..=rcut/h`: per node the K
/// values, then the K slopes times h (cubic Hermite interpolation between nodes).
#[derive(Debug, Clone)]
struct RadialTable {
    k_n: usize,
    inv_h: f64,
    nodes: Vec<f64>,
    /// The last interval (number of nodes - 2), kept to spare a division per neighbor.
    last: usize,
}

impl RadialTable {
    fn new(params: &FeatureParams) -> RadialTable {
        let (k_n, rc, sigma) = (params.n_radial, params.rcut, params.sigma());
        // the cubic Hermite error is at most h^4 / 384 max|w''''|; a Gaussian's fourth
        // derivative is at most 3 / sigma^4, the cutoff's far smaller: sigma / 128 gives
        // about 3e-11 whatever sigma is
        let h_max = (sigma / 128.0).min(rc / 64.0);
        let intervals = (rc / h_max).ceil() as usize;
        let h = rc / intervals as f64;
        let mut nodes = vec![0.0; (intervals + 1) * 2 * k_n];
        for (i, node) in nodes.chunks_mut(2 * k_n).enumerate() {
            radial_weights(params, i as f64 * h, h, node);
        }
        RadialTable { k_n, inv_h: 1.0 / h, nodes, last: intervals - 1 }
    }

    /// Where `r` (0 <= r < rcut) falls: the first value of its node pair in `nodes` and the
    /// four cubic Hermite coefficients (value and slope at either node).
    #[inline(always)]
    fn coefficients(&self, r: f64) -> (usize, [f64; 4]) {
        let u = r * self.inv_h;
        // u >= 0: the signed conversion is one instruction, the unsigned one several
        let i = ((u as i64) as usize).min(self.last);
        let t = u - i as f64;
        let (t2, s) = (t * t, 1.0 - t);
        (2 * self.k_n * i, [(1.0 + 2.0 * t) * s * s, t * s * s, t2 * (3.0 - 2.0 * t), -t2 * s])
    }

    /// The K weights at `r` (0 <= r < rcut) into `w`; `K` is `k_n` when it is not 0.
    #[inline(always)]
    fn eval<const K: usize>(&self, r: f64, w: &mut [f64]) {
        let k_n = if K > 0 { K } else { self.k_n };
        let (at, [h00, h10, h01, h11]) = self.coefficients(r);
        let (node, w) = (&self.nodes[at..at + 4 * k_n], &mut w[..k_n]);
        for k in 0..k_n {
            w[k] = h00 * node[k] + h10 * node[k_n + k] + h01 * node[2 * k_n + k] + h11 * node[3 * k_n + k];
        }
    }
}

/// The formula: `w_k(r)` into `out[..K]` and `h dw_k/dr` into `out[K..2K]` (0 beyond rcut).
fn radial_weights(params: &FeatureParams, r: f64, h: f64, out: &mut [f64]) {
    let (k_n, rc, sigma) = (params.n_radial, params.rcut, params.sigma());
    out.fill(0.0);
    if r >= rc {
        return;
    }
    let x = std::f64::consts::PI * r / rc;
    let fc = 0.5 * (1.0 + x.cos());
    let dfc = -0.5 * std::f64::consts::PI / rc * x.sin();
    for k in 0..k_n {
        let d = r - (params.r_min + k as f64 * sigma);
        let g = (-d * d / (2.0 * sigma * sigma)).exp();
        out[k] = g * fc;
        out[k_n + k] = h * g * (dfc - d / (sigma * sigma) * fc);
    }
}

/// The features of one [`FeatureParams`], with its radial table built once.
#[derive(Debug, Clone)]
pub struct Featurizer {
    pub params: FeatureParams,
    table: RadialTable,
}

impl Featurizer {
    pub fn new(params: &FeatureParams) -> Result<Featurizer> {
        params.validate()?;
        Ok(Featurizer { params: params.clone(), table: RadialTable::new(params) })
    }

    /// Computes the features of the `nloc` local atoms into `out` (resized to
    /// `nloc * params.len()`, row per atom), in parallel over atoms. `out` is meant to be
    /// reused from call to call.
    pub fn compute(&self, nb: &Neighborhood, out: &mut Vec<f64>) -> Result<()> {
        let params = &self.params;
        let width = nb.check(params.n_types)?;
        let p = params.len();
        out.clear();
        out.resize(nb.nloc * p, 0.0);
        if nb.nloc == 0 {
            return Ok(());
        }
        // the default K runs bucketed by element with its sums in registers, in AVX2 + FMA
        // when the CPU has them; any other K the plain way
        let atom = match params.n_radial {
            8 if avx2_fma() => Self::atom_features_8_avx2,
            8 => Self::atom_features_8,
            _ => |f: &Self, nb: &Neighborhood, i, neigh: &[i64], s: &mut AtomScratch, row: &mut [f64]| f.atom_features::<0>(nb, i, neigh, s, row),
        };
        out.par_chunks_mut(p).enumerate().for_each_init(
            || AtomScratch::new(params),
            |scratch, (i, row)| atom(self, nb, i, &nb.nlist[i * width..(i + 1) * width], scratch, row),
        );
        Ok(())
    }

    /// `atom_features_8` compiled for AVX2 + FMA; only chosen after `avx2_fma()`.
    fn atom_features_8_avx2(&self, nb: &Neighborhood, i: usize, neigh: &[i64], scratch: &mut AtomScratch, row: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `compute` picks this function only when `avx2_fma()` found both features
        // on this CPU, which is all `with_avx2_fma` requires.
        unsafe {
            with_avx2_fma(self, nb, i, neigh, scratch, row)
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.atom_features_8(nb, i, neigh, scratch, row)
    }

    /// One atom's row for K = 8, the same sums as `atom_features` in the same order: the
    /// neighbors within the cutoff are first sorted into one list per element, then each
    /// element's 10 x 8 sums run over its list in registers (half of the Gaussians at a
    /// time, so that they fit in sixteen AVX2 registers) instead of in memory.
    #[inline(always)]
    fn atom_features_8(&self, nb: &Neighborhood, i: usize, neigh: &[i64], s: &mut AtomScratch, row: &mut [f64]) {
        let rc2 = self.params.rcut * self.params.rcut;
        let xi = [nb.coords[3 * i], nb.coords[3 * i + 1], nb.coords[3 * i + 2]];
        s.near.iter_mut().for_each(Vec::clear);
        for &j in neigh {
            if j < 0 {
                continue;
            }
            let j = j as usize;
            let d = [nb.coords[3 * j] - xi[0], nb.coords[3 * j + 1] - xi[1], nb.coords[3 * j + 2] - xi[2]];
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if r2 >= rc2 || r2 <= 0.0 {
                continue;
            }
            let r = r2.sqrt();
            let inv = 1.0 / r;
            let u = [d[0] * inv, d[1] * inv, d[2] * inv];
            let (at, h) = self.table.coefficients(r);
            s.near[nb.types[j] as usize].push(Near { at, h, v: angular(u) }); // types checked in `Neighborhood::check`
        }
        for (near, acc) in s.near.iter().zip(s.acc.chunks_exact_mut(10 * 8)) {
            accumulate_8(&self.table.nodes, near, acc);
        }
        invariants::<8>(&self.params, &s.acc, row);
    }

    /// One atom's row; `K` is `params.n_radial` when it is not 0. Its neighbour loop repeats
    /// `atom_features_8`'s on purpose: as a shared helper taking a closure, the closure was
    /// not inlined into the AVX2 build and the features ran ~20 % slower.
    #[inline(always)]
    fn atom_features<const K: usize>(&self, nb: &Neighborhood, i: usize, neigh: &[i64], s: &mut AtomScratch, row: &mut [f64]) {
        let params = &self.params;
        let k_n = if K > 0 { K } else { params.n_radial };
        let (acc, w) = (&mut s.acc, &mut s.w);
        acc.fill(0.0);
        let rc2 = params.rcut * params.rcut;
        let xi = [nb.coords[3 * i], nb.coords[3 * i + 1], nb.coords[3 * i + 2]];
        for &j in neigh {
            if j < 0 {
                continue;
            }
            let j = j as usize;
            let d = [nb.coords[3 * j] - xi[0], nb.coords[3 * j + 1] - xi[1], nb.coords[3 * j + 2] - xi[2]];
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if r2 >= rc2 || r2 <= 0.0 {
                continue;
            }
            let r = r2.sqrt();
            let inv = 1.0 / r;
            let u = [d[0] * inv, d[1] * inv, d[2] * inv];
            self.table.eval::<K>(r, w);
            let v = angular(u);
            let base = nb.types[j] as usize * 10 * k_n; // checked in `Neighborhood::check`
            // indices below 10 k_n of slices of that length: no bounds checks, vector code
            let (a, w) = (&mut acc[base..base + 10 * k_n], &w[..k_n]);
            for q in 0..10 {
                for k in 0..k_n {
                    a[q * k_n + k] += v[q] * w[k];
                }
            }
        }
        invariants::<K>(params, acc, row);
    }

    /// Features of every atom of a frame (wrapped, images built here): `out` `[n * p]`;
    /// returns the model type of each atom.
    pub fn frame_features(&self, frame: &Frame, out: &mut Vec<f64>) -> Result<Vec<i64>> {
        let mut f = frame.clone();
        images::wrap(&mut f)?;
        let ext = images::extend(&f, self.params.rcut)?;
        let atype: Vec<i64> = ext.owner.iter().map(|&o| f.types[o] as i64).collect();
        let nb = Neighborhood { coords: &ext.coords, types: &atype, nloc: f.pos.len(), nlist: &ext.nlist };
        self.compute(&nb, out)?;
        Ok(atype[..f.pos.len()].to_vec())
    }
}

/// Whether this CPU runs AVX2 and FMA instructions.
fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    return is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn with_avx2_fma(f: &Featurizer, nb: &Neighborhood, i: usize, neigh: &[i64], scratch: &mut AtomScratch, row: &mut [f64]) {
    f.atom_features_8(nb, i, neigh, scratch, row)
}

/// Per-thread buffers of `Featurizer::compute`.
struct AtomScratch {
    /// acc[(e 10 + q) K + k]: for element e the 10 values q = A0, A1 (x y z), A2 (xx yy zz
    /// xy xz yz), each over the K Gaussians (contiguous, so the updates vectorize).
    acc: Vec<f64>,
    /// The K radial weights of one neighbor.
    w: Vec<f64>,
    /// Per element, its neighbors within the cutoff (`atom_features_8`).
    near: Vec<Vec<Near>>,
}

impl AtomScratch {
    fn new(params: &FeatureParams) -> AtomScratch {
        let (ne, k_n) = (params.n_types, params.n_radial);
        AtomScratch { acc: vec![0.0; ne * 10 * k_n], w: vec![0.0; k_n], near: vec![Vec::new(); ne] }
    }
}

/// A neighbor as the sums need it: where its distance falls in the radial table
/// (`RadialTable::coefficients`) and its 10 angular factors.
#[derive(Debug, Clone, Copy)]
struct Near {
    at: usize,
    h: [f64; 4],
    v: [f64; 10],
}

/// The factors of A0, A1 and A2 for the unit vector `u` (order of `AtomScratch::acc`).
#[inline(always)]
fn angular(u: [f64; 3]) -> [f64; 10] {
    let third = 1.0 / 3.0;
    [1.0, u[0], u[1], u[2], u[0] * u[0] - third, u[1] * u[1] - third, u[2] * u[2] - third, u[0] * u[1], u[0] * u[2], u[1] * u[2]]
}

/// One element's 10 x 8 sums over its neighbors `near` into `acc`, each Gaussian's weight
/// interpolated from `nodes` as `RadialTable::eval` does. Four Gaussians at a time: the
/// 40 running sums then stay in registers.
#[inline(always)]
fn accumulate_8(nodes: &[f64], near: &[Near], acc: &mut [f64]) {
    for half in 0..2 {
        let mut sums = [[0.0f64; 4]; 10];
        for n in near {
            // ok-panic: a slice of exactly 32 values always converts to [f64; 32]
            let node: &[f64; 32] = nodes[n.at..n.at + 32].try_into().expect("two table nodes of 2 x 8 values");
            let [h00, h10, h01, h11] = n.h;
            let mut w = [0.0f64; 4];
            for (k, w) in w.iter_mut().enumerate() {
                let k = 4 * half + k;
                *w = h00 * node[k] + h10 * node[8 + k] + h01 * node[16 + k] + h11 * node[24 + k];
            }
            for (s, v) in sums.iter_mut().zip(n.v) {
                for (s, w) in s.iter_mut().zip(w) {
                    *s += v * w;
                }
            }
        }
        for (q, s) in sums.iter().enumerate() {
            acc[8 * q + 4 * half..8 * q + 4 * half + 4].copy_from_slice(s);
        }
    }
}

/// The feature row from the accumulated A0, A1, A2 (layout of `atom_features`). Each dot
/// product runs over the K Gaussians at once (contiguous in `acc` and `row`, so it
/// vectorizes), summing the components of every k in the order of the formula. `K` is
/// `params.n_radial` when it is not 0 (inlined into `atom_features::<K>`).
#[inline(always)]
fn invariants<const K: usize>(params: &FeatureParams, acc: &[f64], row: &mut [f64]) {
    let k_n = if K > 0 { K } else { params.n_radial };
    let nch = params.n_types * k_n;
    for e in 0..params.n_types {
        row[e * k_n..(e + 1) * k_n].copy_from_slice(&acc[e * 10 * k_n..(e * 10 + 1) * k_n]);
    }
    let (l1, l2) = row[nch..].split_at_mut(params.n_pairs() * k_n);
    let mut q = 0;
    for e in 0..params.n_types {
        for f in e..params.n_types {
            let (o1, o2) = (&mut l1[q * k_n..(q + 1) * k_n], &mut l2[q * k_n..(q + 1) * k_n]);
            let (a, b) = (&acc[e * 10 * k_n..(e + 1) * 10 * k_n], &acc[f * 10 * k_n..(f + 1) * 10 * k_n]);
            dot_blocks::<K>(a, b, k_n, 4..7, o1); // the diagonal part of A2 : A2, for now in o1
            dot_blocks::<K>(a, b, k_n, 7..10, o2);
            o2.iter_mut().zip(o1.iter()).for_each(|(o, d)| *o = d + 2.0 * *o);
            dot_blocks::<K>(a, b, k_n, 1..4, o1);
            q += 1;
        }
    }
}

/// `out[k] = sum over c in cs of a[c K + k] b[c K + k]`, summed from -0.0 in the order of c
/// as `Iterator::sum` does; `K` is `k_n` when it is not 0.
#[inline(always)]
fn dot_blocks<const K: usize>(a: &[f64], b: &[f64], k_n: usize, cs: std::ops::Range<usize>, out: &mut [f64]) {
    let k_n = if K > 0 { K } else { k_n };
    let out = &mut out[..k_n];
    out.fill(-0.0);
    for c in cs {
        for ((o, x), y) in out.iter_mut().zip(&a[c * k_n..(c + 1) * k_n]).zip(&b[c * k_n..(c + 1) * k_n]) {
            *o += x * y;
        }
    }
}

/// `Featurizer::compute` for a one-off call (the table is built each time).
pub fn compute(params: &FeatureParams, nb: &Neighborhood, out: &mut Vec<f64>) -> Result<()> {
    Featurizer::new(params)?.compute(nb, out)
}


#[cfg(test)]
mod tests {
    use super::*;

    /// A random-ish cluster: atom 0 at the origin-ish center, all others its neighbors.
    fn cluster(n: usize, seed: u64) -> (Vec<f64>, Vec<i64>) {
        let mut s = seed;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64) / ((1u64 << 53) as f64)
        };
        let mut coords = vec![0.3, -0.2, 0.1];
        let mut types = vec![0];
        for _ in 1..n {
            for _ in 0..3 {
                coords.push(rnd() * 9.0 - 4.5);
            }
            types.push((rnd() * 3.0) as i64);
        }
        (coords, types)
    }

    fn features_of(params: &FeatureParams, coords: &[f64], types: &[i64]) -> Vec<f64> {
        let n = types.len();
        // every atom is local and sees all others
        let mut nlist = Vec::new();
        for i in 0..n {
            for j in 0..n {
                if j != i {
                    nlist.push(j as i64);
                }
            }
            nlist.push(-1);
        }
        let nb = Neighborhood { coords, types, nloc: n, nlist: &nlist };
        let mut out = Vec::new();
        compute(params, &nb, &mut out).unwrap();
        out
    }

    fn max_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
    }

    fn params() -> FeatureParams {
        FeatureParams::new(3, 4.0)
    }

    #[test]
    fn invariants_follow_the_formula_bit_for_bit() {
        // the features decide grid cells: the vectorized dot products must round exactly as
        // the formula's per-k sums (components in order) do
        let params = params();
        let (k_n, ne) = (params.n_radial, params.n_types);
        let mut s = 3u64;
        let acc: Vec<f64> = (0..ne * 10 * k_n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
            })
            .collect();
        let mut row = vec![f64::NAN; params.len()];
        invariants::<0>(&params, &acc, &mut row);
        let mut row8 = vec![f64::NAN; params.len()];
        invariants::<8>(&params, &acc, &mut row8);
        assert_eq!(row.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), row8.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        let a = |e: usize, c: usize, k: usize| acc[(e * 10 + c) * k_n + k];
        let (nch, np) = (ne * k_n, params.n_pairs());
        let mut want = vec![f64::NAN; params.len()];
        let mut q = 0;
        for e in 0..ne {
            for k in 0..k_n {
                want[e * k_n + k] = a(e, 0, k);
            }
            for f in e..ne {
                for k in 0..k_n {
                    let dot = |cs: std::ops::Range<usize>| cs.map(|c| a(e, c, k) * a(f, c, k)).sum::<f64>();
                    want[nch + q * k_n + k] = dot(1..4);
                    want[nch + np * k_n + q * k_n + k] = dot(4..7) + 2.0 * dot(7..10);
                }
                q += 1;
            }
        }
        assert_eq!(row.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn per_element_sums_in_registers_match_the_plain_loop_bit_for_bit() {
        // the K = 8 path (bucketed, sums in registers, AVX2 where there is one) against the
        // generic loop over neighbors: the same sums in the same order, so the same bits
        let params = FeatureParams::new(3, 4.0);
        let f = Featurizer::new(&params).unwrap();
        let (coords, types) = cluster(60, 5);
        let n = types.len();
        let nlist: Vec<i64> = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(|j| j as i64).chain([-1])).collect();
        let nb = Neighborhood { coords: &coords, types: &types, nloc: n, nlist: &nlist };
        let mut fast = Vec::new();
        f.compute(&nb, &mut fast).unwrap();
        let (p, width) = (params.len(), n);
        let mut plain = vec![f64::NAN; n * p];
        let mut s = AtomScratch::new(&params);
        for (i, row) in plain.chunks_mut(p).enumerate() {
            f.atom_features::<0>(&nb, i, &nlist[i * width..(i + 1) * width], &mut s, row);
        }
        assert!(fast.iter().any(|&x| x != 0.0));
        assert_eq!(fast.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), plain.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        // and the scalar build of the K = 8 path, where the CPU would have chosen AVX2
        let mut scalar = vec![f64::NAN; n * p];
        for (i, row) in scalar.chunks_mut(p).enumerate() {
            f.atom_features_8(&nb, i, &nlist[i * width..(i + 1) * width], &mut s, row);
        }
        assert_eq!(scalar.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), plain.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn length_and_nonzero() {
        let p = params();
        assert_eq!(p.len(), 3 * 8 + 2 * 6 * 8);
        let (c, t) = cluster(30, 1);
        let f = features_of(&p, &c, &t);
        assert_eq!(f.len(), 30 * p.len());
        assert!(f[..p.len()].iter().any(|&x| x.abs() > 1e-3));
    }

    #[test]
    fn rotation_invariance() {
        let p = params();
        let (c, t) = cluster(30, 2);
        let (a, b, g) = (0.7f64, -1.3f64, 2.1f64);
        let rz = |v: [f64; 3], th: f64| [th.cos() * v[0] - th.sin() * v[1], th.sin() * v[0] + th.cos() * v[1], v[2]];
        let rx = |v: [f64; 3], th: f64| [v[0], th.cos() * v[1] - th.sin() * v[2], th.sin() * v[1] + th.cos() * v[2]];
        let rot: Vec<f64> = c.chunks(3).flat_map(|v| rz(rx(rz([v[0], v[1], v[2]], a), b), g)).collect();
        let f0 = features_of(&p, &c, &t);
        let f1 = features_of(&p, &rot, &t);
        assert!(max_diff(&f0, &f1) < 1e-10, "{}", max_diff(&f0, &f1));
        // an inversion too (the invariants are even)
        let inv: Vec<f64> = c.iter().map(|x| -x).collect();
        assert!(max_diff(&f0, &features_of(&p, &inv, &t)) < 1e-10);
    }

    #[test]
    fn translation_invariance() {
        let p = params();
        let (c, t) = cluster(30, 3);
        let moved: Vec<f64> = c.iter().enumerate().map(|(k, x)| x + [12.5, -3.25, 100.0][k % 3]).collect();
        assert!(max_diff(&features_of(&p, &c, &t), &features_of(&p, &moved, &t)) < 1e-9);
    }

    #[test]
    fn permutation_invariance() {
        let p = params();
        let (c, t) = cluster(30, 4);
        let f0 = features_of(&p, &c, &t);
        // reverse the order of atoms 1..n: atom 0 keeps its row, its neighbor order changes
        let n = t.len();
        let order: Vec<usize> = std::iter::once(0).chain((1..n).rev()).collect();
        let c2: Vec<f64> = order.iter().flat_map(|&o| c[3 * o..3 * o + 3].to_vec()).collect();
        let t2: Vec<i64> = order.iter().map(|&o| t[o]).collect();
        let f1 = features_of(&p, &c2, &t2);
        let pl = p.len();
        for (new, &old) in order.iter().enumerate() {
            assert!(max_diff(&f0[old * pl..(old + 1) * pl], &f1[new * pl..(new + 1) * pl]) < 1e-10);
        }
    }

    #[test]
    fn smooth_at_cutoff() {
        let p = params();
        // a center (type 0) with one neighbor (type 1) moving through rcut along x
        let row = |r: f64| {
            let f = features_of(&p, &[0.0, 0.0, 0.0, r, 0.0, 0.0], &[0, 1]);
            f[..p.len()].to_vec()
        };
        let at = row(p.rcut - 1e-4);
        assert!(at.iter().all(|x| x.abs() < 1e-6), "{:?}", at);
        assert!(row(p.rcut + 1e-4).iter().all(|&x| x == 0.0));
        // derivative near the cutoff also vanishes (cosine cutoff): differences shrink ~ h^2
        let d1 = max_diff(&row(p.rcut - 2e-3), &row(p.rcut - 1e-3));
        assert!(d1 < 1e-5, "{d1}");
        // and well inside, the neighbor is seen in its element's channel only
        let inside = row(2.0);
        assert!(inside[p.n_radial..2 * p.n_radial].iter().any(|&x| x > 0.1));
        assert!(inside[..p.n_radial].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn table_matches_the_formula() {
        // the default, a coarse and a fine set of Gaussians, sampled off the nodes
        for (n_types, rcut, n_radial, r_min) in [(4, 6.0, 8, 1.0), (1, 3.0, 2, 0.5), (2, 9.0, 20, 0.0)] {
            let params = FeatureParams { n_types, rcut, n_radial, r_min };
            let table = RadialTable::new(&params);
            let (mut w, mut exact) = (vec![0.0; n_radial], vec![0.0; 2 * n_radial]);
            let mut worst = 0.0f64;
            for s in 0..30_011 {
                let r = rcut * s as f64 / 30_011.0;
                table.eval::<0>(r, &mut w);
                radial_weights(&params, r, 1.0, &mut exact);
                worst = w.iter().zip(&exact).map(|(a, b)| (a - b).abs()).fold(worst, f64::max);
            }
            assert!(worst < TABLE_TOLERANCE, "{params:?}: {worst:e}");
        }
    }

    #[test]
    fn radial_slopes_match_finite_differences() {
        let params = FeatureParams::new(1, 6.0);
        let k = params.n_radial;
        let (mut lo, mut hi, mut at) = (vec![0.0; 2 * k], vec![0.0; 2 * k], vec![0.0; 2 * k]);
        for r in [0.2, 1.3, 2.71, 4.4, 5.9] {
            let e = 1e-6;
            radial_weights(&params, r - e, 1.0, &mut lo);
            radial_weights(&params, r + e, 1.0, &mut hi);
            radial_weights(&params, r, 1.0, &mut at);
            for q in 0..k {
                let fd = (hi[q] - lo[q]) / (2.0 * e);
                assert!((fd - at[k + q]).abs() < 1e-8, "{r} {q}: {fd} {}", at[k + q]);
            }
        }
    }

    #[test]
    fn bad_types_are_errors() {
        let p = params();
        let nb = Neighborhood { coords: &[0.0; 6], types: &[0, 7], nloc: 1, nlist: &[1] };
        assert!(matches!(compute(&p, &nb, &mut Vec::new()), Err(Error::Input(_))));
    }
}
