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

/// Computes the features of the `nloc` local atoms into `out` (resized to
/// `nloc * params.len()`, row per atom), in parallel over atoms. `out` is meant to be
/// reused from call to call.
pub fn compute(params: &FeatureParams, nb: &Neighborhood, out: &mut Vec<f64>) -> Result<()> {
    params.validate()?;
    let width = nb.check(params.n_types)?;
    let p = params.len();
    out.clear();
    out.resize(nb.nloc * p, 0.0);
    if nb.nloc == 0 {
        return Ok(());
    }
    let nch = params.n_types * params.n_radial;
    let scratch_len = nch * 10;
    out.par_chunks_mut(p).enumerate().for_each_init(
        || vec![0.0f64; scratch_len],
        |acc, (i, row)| atom_features(params, nb, i, &nb.nlist[i * width..(i + 1) * width], acc, row),
    );
    Ok(())
}

fn atom_features(params: &FeatureParams, nb: &Neighborhood, i: usize, neigh: &[i64], acc: &mut [f64], row: &mut [f64]) {
    let k_n = params.n_radial;
    let nch = params.n_types * k_n;
    // acc: per channel c = e K + k, 10 values: A0, A1 (x y z), A2 (xx yy zz xy xz yz)
    acc.fill(0.0);
    let rc = params.rcut;
    let sigma = params.sigma();
    let inv2s2 = 1.0 / (2.0 * sigma * sigma);
    let xi = [nb.coords[3 * i], nb.coords[3 * i + 1], nb.coords[3 * i + 2]];
    let mut g = [0.0f64; 64];
    let mut g_heap = Vec::new();
    let g: &mut [f64] = if k_n <= 64 {
        &mut g[..k_n]
    } else {
        g_heap.resize(k_n, 0.0);
        &mut g_heap
    };
    for &j in neigh {
        if j < 0 {
            continue;
        }
        let j = j as usize;
        let d = [nb.coords[3 * j] - xi[0], nb.coords[3 * j + 1] - xi[1], nb.coords[3 * j + 2] - xi[2]];
        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        if r2 >= rc * rc || r2 <= 0.0 {
            continue;
        }
        let r = r2.sqrt();
        let u = [d[0] / r, d[1] / r, d[2] / r];
        let fc = 0.5 * (1.0 + (std::f64::consts::PI * r / rc).cos());
        gaussians(r, params.r_min, sigma, inv2s2, g);
        let v = [1.0, u[0], u[1], u[2], u[0] * u[0] - 1.0 / 3.0, u[1] * u[1] - 1.0 / 3.0, u[2] * u[2] - 1.0 / 3.0, u[0] * u[1], u[0] * u[2], u[1] * u[2]];
        let base = nb.types[j] as usize * k_n; // checked in `Neighborhood::check`
        for (a, gk) in acc[10 * base..10 * (base + k_n)].chunks_exact_mut(10).zip(g.iter()) {
            let w = gk * fc;
            for q in 0..10 {
                a[q] += w * v[q];
            }
        }
    }
    for c in 0..nch {
        row[c] = acc[10 * c];
    }
    let np = params.n_pairs();
    let mut q = 0;
    for e in 0..params.n_types {
        for f in e..params.n_types {
            for k in 0..k_n {
                let x = &acc[10 * (e * k_n + k)..10 * (e * k_n + k + 1)];
                let y = &acc[10 * (f * k_n + k)..10 * (f * k_n + k + 1)];
                row[nch + q * k_n + k] = x[1] * y[1] + x[2] * y[2] + x[3] * y[3];
                row[nch + np * k_n + q * k_n + k] =
                    x[4] * y[4] + x[5] * y[5] + x[6] * y[6] + 2.0 * (x[7] * y[7] + x[8] * y[8] + x[9] * y[9]);
            }
            q += 1;
        }
    }
}

/// `g[k] = exp(-(r - mu_k)^2 / (2 sigma^2))` with three exponentials instead of K: from
/// the nearest center, neighbors follow by the ratio `g_{k+1} / g_k = exp(x_k / sigma - 1/2)`
/// (`x_k = r - mu_k`), which itself shrinks by `1/e` per step.
fn gaussians(r: f64, r_min: f64, sigma: f64, inv2s2: f64, g: &mut [f64]) {
    let k_n = g.len();
    let c = ((r - r_min) / sigma).round().clamp(0.0, (k_n - 1) as f64) as usize;
    let x = r - (r_min + c as f64 * sigma);
    g[c] = (-x * x * inv2s2).exp();
    let inv_e = (-1.0f64).exp();
    let mut up = (x / sigma - 0.5).exp();
    for k in c + 1..k_n {
        g[k] = g[k - 1] * up;
        up *= inv_e;
    }
    let mut down = (-x / sigma - 0.5).exp();
    for k in (0..c).rev() {
        g[k] = g[k + 1] * down;
        down *= inv_e;
    }
}

/// Features of every atom of a frame (wrapped, images built here): `out` `[n * p]`;
/// returns the model type of each atom.
pub fn frame_features(frame: &Frame, params: &FeatureParams, out: &mut Vec<f64>) -> Result<Vec<i64>> {
    let mut f = frame.clone();
    images::wrap(&mut f)?;
    let ext = images::extend(&f, params.rcut)?;
    let atype: Vec<i64> = ext.owner.iter().map(|&o| f.types[o] as i64).collect();
    let nb = Neighborhood { coords: &ext.coords, types: &atype, nloc: f.pos.len(), nlist: &ext.nlist };
    compute(params, &nb, out)?;
    Ok(atype[..f.pos.len()].to_vec())
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
    fn gaussian_recurrence_matches_direct() {
        let p = FeatureParams::new(1, 6.0);
        let s = p.sigma();
        let mut g = vec![0.0; p.n_radial];
        for r in [0.3, 1.0, 1.37, 2.9, 4.2, 5.99] {
            gaussians(r, p.r_min, s, 1.0 / (2.0 * s * s), &mut g);
            for (k, gk) in g.iter().enumerate() {
                let x = r - (p.r_min + k as f64 * s);
                let want = (-x * x / (2.0 * s * s)).exp();
                assert!((gk - want).abs() <= 1e-13 * want.max(1e-300) + 1e-300, "{r} {k}: {gk} {want}");
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
