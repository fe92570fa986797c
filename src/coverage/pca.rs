//! Principal component analysis as in the paper's Methods: standardize the n x p matrix
//! column by column, take the covariance R of the standardized matrix (the correlation
//! matrix), its eigen-decomposition sorted by decreasing eigenvalue, and keep the first m
//! components whose cumulative contribution `sum(lambda_1..m) / sum(lambda)` reaches the
//! threshold (0.95 in the paper).

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::native::real::Real;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pca {
    /// Number of input features p.
    pub p: usize,
    /// Column means of the training matrix.
    pub mean: Vec<f64>,
    /// Column scales: the sample standard deviation, or 0 for a constant column (the
    /// standardized column is then 0: it carries no variance in training).
    pub scale: Vec<f64>,
    /// All p eigenvalues of R, descending.
    pub eigenvalues: Vec<f64>,
    /// Number of kept components m.
    pub m: usize,
    /// `[m * p]`: the kept eigenvectors, one row per component, sign fixed so that the
    /// largest-magnitude entry is positive (reproducible files).
    pub components: Vec<f64>,
    /// The cumulative-contribution threshold used.
    pub threshold: f64,
}

impl Pca {
    /// Fits on `x`, `n` rows of `p` features, row-major. At least 2 components are kept
    /// (the coverage needs a plane) when p allows, at most `max_components` if given (the
    /// grid cost grows as m^2; the paper has no cap).
    pub fn fit(x: &[f64], p: usize, threshold: f64, max_components: Option<usize>) -> Result<Pca> {
        if p == 0 || !x.len().is_multiple_of(p) {
            return Err(Error::Internal(format!("pca: {} values for {p} features", x.len())));
        }
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(Error::Input(format!("pca: threshold {threshold} must be in (0, 1]")));
        }
        let n = x.len() / p;
        if n < 2 {
            return Err(Error::Input(format!("pca: need at least 2 samples, got {n}")));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::Input("pca: non-finite feature value".into()));
        }
        let mut mean = vec![0.0; p];
        for row in x.chunks(p) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; p];
        for row in x.chunks(p) {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let scale: Vec<f64> = var
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let sd = (s / (n - 1) as f64).sqrt();
                // relative test: a column constant up to rounding is constant
                if sd <= 1e-12 * m.abs().max(1e-300) || sd == 0.0 { 0.0 } else { sd }
            })
            .collect();
        let mut r = DMatrix::<f64>::zeros(p, p);
        let mut z = vec![0.0; p];
        for row in x.chunks(p) {
            standardize(row, &mean, &scale, &mut z);
            for a in 0..p {
                if z[a] == 0.0 {
                    continue;
                }
                for b in a..p {
                    r[(a, b)] += z[a] * z[b];
                }
            }
        }
        for a in 0..p {
            for b in a..p {
                let v = r[(a, b)] / (n - 1) as f64;
                r[(a, b)] = v;
                r[(b, a)] = v;
            }
        }
        let eig = r.symmetric_eigen();
        let mut order: Vec<usize> = (0..p).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        // tiny negative eigenvalues are rounding
        let eigenvalues: Vec<f64> = order.iter().map(|&k| eig.eigenvalues[k].max(0.0)).collect();
        let total: f64 = eigenvalues.iter().sum();
        if !(total > 0.0) {
            return Err(Error::Input("pca: every feature is constant in the training set".into()));
        }
        let m = cut(&eigenvalues, threshold).min(max_components.unwrap_or(p)).max(2.min(p));
        let mut components = Vec::with_capacity(m * p);
        for &k in &order[..m] {
            let v = eig.eigenvectors.column(k);
            let big = v.iter().copied().fold(0.0f64, |a, b| if b.abs() > a.abs() { b } else { a });
            let sign = if big < 0.0 { -1.0 } else { 1.0 };
            components.extend(v.iter().map(|c| sign * c));
        }
        Ok(Pca { p, mean, scale, eigenvalues, m, components, threshold })
    }

    /// The kept components divided by the column scales, `[m * p]` (0 for a constant
    /// column): with them, projecting centered rows is one matrix product.
    pub fn scaled_components(&self, w: &mut Vec<f64>) {
        w.clear();
        for a in self.components.chunks(self.p) {
            w.extend(a.iter().zip(&self.scale).map(|(c, s)| if *s == 0.0 { 0.0 } else { c / s }));
        }
    }

    /// Projects `n` centered rows (`x - mean`, `[n * p]`) onto the kept components: `out`
    /// `[n * m]`, with `w` from `scaled_components`.
    pub fn project_centered(&self, centered: &[f64], w: &[f64], out: &mut [f64]) {
        let n = centered.len() / self.p;
        out[..n * self.m].fill(0.0);
        // out[n×m] += centered[n×p] · wᵀ, wᵀ read from w ([m][p]) by its strides
        <f64 as Real>::gemm(n, self.p, self.m, centered, w, 1, self.p as isize, out);
    }

    /// Projects rows `[n * p]` into `out` `[n * m]` the way the coverage does (one matrix
    /// product of the centered rows), so the training set lands in the same cells.
    pub fn project_rows(&self, x: &[f64], out: &mut Vec<f64>) {
        let n = x.len() / self.p;
        out.clear();
        out.resize(n * self.m, 0.0);
        let mut w = Vec::new();
        self.scaled_components(&mut w);
        let mut centered = Vec::new();
        for (rows, o) in x.chunks(4096 * self.p).zip(out.chunks_mut(4096 * self.m)) {
            centered.clear();
            centered.extend(rows.chunks(self.p).flat_map(|row| row.iter().zip(&self.mean).map(|(v, m)| v - m)));
            self.project_centered(&centered, &w, o);
        }
    }

    /// Contribution of each eigenvalue, `lambda_k / sum(lambda)`.
    pub fn contributions(&self) -> Vec<f64> {
        let total: f64 = self.eigenvalues.iter().sum();
        self.eigenvalues.iter().map(|l| l / total).collect()
    }

    pub fn check(&self) -> Result<()> {
        let p = self.p;
        if self.mean.len() != p || self.scale.len() != p || self.eigenvalues.len() != p || self.components.len() != self.m * p || self.m < 1 {
            return Err(Error::Input("coverage reference: inconsistent PCA sizes".into()));
        }
        Ok(())
    }
}

fn standardize(row: &[f64], mean: &[f64], scale: &[f64], z: &mut [f64]) {
    for ((o, v), (m, s)) in z.iter_mut().zip(row).zip(mean.iter().zip(scale)) {
        *o = if *s > 0.0 { (v - m) / s } else { 0.0 };
    }
}

/// Smallest m with `sum(l[..m]) / sum(l) >= threshold` (l descending).
pub fn cut(eigenvalues: &[f64], threshold: f64) -> usize {
    let total: f64 = eigenvalues.iter().sum();
    let mut acc = 0.0;
    for (k, l) in eigenvalues.iter().enumerate() {
        acc += l;
        // a hair of tolerance, so that an exact 0.95 is not lost to rounding
        if acc >= threshold * total * (1.0 - 1e-12) {
            return k + 1;
        }
    }
    eigenvalues.len()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Standard normal samples (Box-Muller on a fixed LCG).
    pub(crate) fn normals(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut u = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 + 0.5) / ((1u64 << 53) as f64)
        };
        (0..n).map(|_| (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos()).collect()
    }

    #[test]
    fn known_correlation_eigenvalues_and_cut() {
        // Columns: x0 = a, x1 = 3a (so x0, x1 perfectly correlated), x2 = b, x3 = c + 0.5 d,
        // x4 = c - 0.5 d... built so that the correlation matrix is known exactly:
        // block {x0, x1}: [[1,1],[1,1]] -> eigenvalues 2, 0
        // x2 alone -> 1
        // block {x3, x4} with x3 = c + d, x4 = c - d, var(c) = 4 var(d)... corr = (4-1)/(4+1) = 0.6
        //   -> eigenvalues 1.6, 0.4
        // plus a constant column, which must contribute nothing.
        // Population eigenvalues: 2, 1.6, 1, 0.4, 0, 0; total 5; cumulative 0.4, 0.72, 0.92, 1.0
        // -> the 95 % cut is m = 4; the 90 % cut is m = 3.
        let n = 200_000;
        let g = normals(4 * n, 7);
        let mut x = Vec::with_capacity(6 * n);
        for i in 0..n {
            let (a, b, c, d) = (g[4 * i], g[4 * i + 1], 2.0 * g[4 * i + 2], g[4 * i + 3]);
            x.extend_from_slice(&[a + 5.0, 3.0 * a, 9.0 * b - 1.0, c + d, c - d, 42.0]);
        }
        let pca = Pca::fit(&x, 6, 0.95, None).unwrap();
        let want = [2.0, 1.6, 1.0, 0.4, 0.0, 0.0];
        for (l, w) in pca.eigenvalues.iter().zip(want) {
            assert!((l - w).abs() < 0.01, "{:?}", pca.eigenvalues);
        }
        assert_eq!(pca.m, 4);
        assert_eq!(pca.scale[5], 0.0);
        assert_eq!(Pca::fit(&x, 6, 0.90, None).unwrap().m, 3);
        assert_eq!(Pca::fit(&x, 6, 0.5, None).unwrap().m, 2);
        assert_eq!(Pca::fit(&x, 6, 0.95, Some(3)).unwrap().m, 3);
        assert_eq!(Pca::fit(&x, 6, 0.95, Some(1)).unwrap().m, 2);
        // first component is (x0 + x1)/sqrt(2) in standardized units
        let c0 = &pca.components[..6];
        assert!((c0[0] - c0[1]).abs() < 1e-9 && (c0[0] - 0.5f64.sqrt()).abs() < 0.01, "{c0:?}");
        assert!(c0[2..].iter().all(|c| c.abs() < 0.01), "{c0:?}");
        // projections of the training set are centered, with variances = eigenvalues
        let mut t = Vec::new();
        pca.project_rows(&x, &mut t);
        for k in 0..pca.m {
            let v: f64 = t.chunks(pca.m).map(|r| r[k] * r[k]).sum::<f64>() / (n - 1) as f64;
            assert!((v - pca.eigenvalues[k]).abs() < 1e-9, "{k}: {v}");
        }
    }

    #[test]
    fn cut_exact_values() {
        assert_eq!(cut(&[9.0, 4.0, 1.0, 0.25], 0.95), 3);
        assert_eq!(cut(&[9.0, 4.0, 1.0, 0.25], 0.9), 2);
        assert_eq!(cut(&[1.0, 1.0], 1.0), 2);
        assert_eq!(cut(&[19.0, 1.0], 0.95), 1);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Pca::fit(&[1.0, 2.0], 2, 0.95, None).is_err()); // one sample
        assert!(Pca::fit(&[1.0, 1.0, 1.0, 1.0], 2, 0.95, None).is_err()); // all constant
        assert!(Pca::fit(&[1.0, 2.0, 3.0, 4.0], 2, 1.5, None).is_err());
    }
}
