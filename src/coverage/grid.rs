//! The paper's coverage rate on 2-D grids.
//!
//! Points are the PCA projections (m components). For each of the m(m-1)/2 planes of
//! component pairs (a, b), a < b, the TRAINING range of a and of b is cut into N equal
//! cells each: `T_train` marks the N x N cells that hold a training point, `T_test` the
//! cells that hold a test point, `T_cover = T_train * T_test`, and per plane
//! `P = NUM(T_cover = 1) / NUM(T_test = 1)`; the coverage is the mean of P over planes.
//!
//! Test points outside the training range land in cells of the same size beyond it
//! (N more on each side, the outermost ones absorbing everything farther out): those
//! cells count in `NUM(T_test = 1)` and are never covered. Keeping the test grid a fixed
//! 3N x 3N bitmap lets occupancies from several frames or MPI ranks be merged by OR.
//!
//! Per atom: the fraction of planes on which its cell holds a training point; the atom
//! is flagged when that is below 1.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Cells per axis N.
    pub n: usize,
    /// Number of components m.
    pub m: usize,
    /// Training minimum of each component.
    pub lo: Vec<f64>,
    /// Cell width of each component: (max - min) / N.
    pub width: Vec<f64>,
    /// Per plane (in `planes()` order), the training cells `ia * N + ib`, ascending.
    pub train_cells: Vec<Vec<u32>>,
    /// Training bitmaps, rebuilt from `train_cells` (`finish`).
    #[serde(skip)]
    train_bits: Vec<u64>,
}

/// Component pairs (a, b), a < b, in order.
pub fn planes(m: usize) -> Vec<(usize, usize)> {
    (0..m).flat_map(|a| (a + 1..m).map(move |b| (a, b))).collect()
}

fn words(cells: usize) -> usize {
    cells.div_ceil(64)
}

fn get(bits: &[u64], k: usize) -> bool {
    // out of range reads as empty: a grid deserialized without `finish` must not panic
    bits.get(k / 64).is_some_and(|w| w >> (k % 64) & 1 == 1)
}

fn set(bits: &mut [u64], k: usize) {
    bits[k / 64] |= 1 << (k % 64);
}

impl Grid {
    /// Grid over the range of the training projections `t` (`[n_points * m]`).
    pub fn fit(t: &[f64], m: usize, n: usize) -> Result<Grid> {
        if m < 2 || n == 0 || n > 4096 || t.is_empty() || !t.len().is_multiple_of(m) {
            return Err(Error::Input(format!("coverage grid: need m >= 2 components, 1 <= N <= 4096 and points (m = {m}, N = {n})")));
        }
        let mut lo = vec![f64::INFINITY; m];
        let mut hi = vec![f64::NEG_INFINITY; m];
        for row in t.chunks(m) {
            for k in 0..m {
                lo[k] = lo[k].min(row[k]);
                hi[k] = hi[k].max(row[k]);
            }
        }
        let width = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| {
                // a degenerate range still needs a cell size; any tiny one keeps the
                // single training value in cell 0
                let span = h - l;
                let floor = 1e-9 * l.abs().max(h.abs()).max(1.0);
                span.max(floor) / n as f64
            })
            .collect();
        let mut g = Grid { n, m, lo, width, train_cells: Vec::new(), train_bits: Vec::new() };
        let np = planes(m).len();
        let w = words(n * n);
        let mut bits = vec![0u64; np * w];
        bits.par_chunks_mut(w).zip(planes(m)).for_each(|(b, (pa, pb))| {
            for row in t.chunks(m) {
                if let (Some(i), Some(j)) = (g.inner(pa, row[pa]), g.inner(pb, row[pb])) {
                    set(b, i * n + j);
                }
            }
        });
        g.train_cells = bits
            .chunks(w)
            .map(|b| (0..n * n).filter(|&k| get(b, k)).map(|k| k as u32).collect())
            .collect();
        g.train_bits = bits;
        Ok(g)
    }

    /// Checks sizes and rebuilds the bitmaps after deserializing.
    pub fn finish(&mut self) -> Result<()> {
        let np = planes(self.m).len();
        let nn = self.n * self.n;
        if self.m < 2 || self.n == 0 || self.lo.len() != self.m || self.width.len() != self.m || self.train_cells.len() != np {
            return Err(Error::Input("coverage reference: inconsistent grid sizes".into()));
        }
        if self.width.iter().any(|w| !(*w > 0.0)) {
            return Err(Error::Input("coverage reference: grid cell width <= 0".into()));
        }
        let w = words(nn);
        self.train_bits = vec![0u64; np * w];
        for (b, cells) in self.train_bits.chunks_mut(w).zip(&self.train_cells) {
            for &c in cells {
                if c as usize >= nn {
                    return Err(Error::Input("coverage reference: grid cell index out of range".into()));
                }
                set(b, c as usize);
            }
        }
        Ok(())
    }

    pub fn n_planes(&self) -> usize {
        self.train_cells.len()
    }

    /// Unbounded cell index along component k.
    fn index(&self, k: usize, v: f64) -> i64 {
        let u = (v - self.lo[k]) / self.width[k];
        let i = if u.is_finite() { u.floor().clamp(-1e9, 1e9) as i64 } else if u > 0.0 { i64::MAX / 2 } else { -1 };
        // the training maximum sits exactly on the upper edge: it belongs to the last cell
        if i == self.n as i64 && u <= self.n as f64 * (1.0 + 1e-12) {
            return self.n as i64 - 1;
        }
        i
    }

    /// Cell along component k inside the training range, if any.
    fn inner(&self, k: usize, v: f64) -> Option<usize> {
        let i = self.index(k, v);
        (i >= 0 && i < self.n as i64).then_some(i as usize)
    }

    /// Cell along component k on the 3N test axis (training range = N..2N).
    fn outer(&self, k: usize, v: f64) -> usize {
        let n = self.n as i64;
        (self.index(k, v).clamp(-n, 2 * n - 1) + n) as usize
    }

    /// Fraction of planes on which the point `t` (m components) is in a training cell.
    pub fn point_coverage(&self, t: &[f64]) -> f64 {
        // cell of each component once, not once per plane
        let cells: Vec<Option<usize>> = (0..self.m).map(|k| self.inner(k, t[k])).collect();
        let w = words(self.n * self.n);
        let (mut plane, mut covered) = (0usize, 0usize);
        for a in 0..self.m {
            let Some(i) = cells[a] else {
                plane += self.m - a - 1; // none of a's planes can be covered
                continue;
            };
            for cb in &cells[a + 1..] {
                if let Some(j) = *cb {
                    // planes are w words apart in one bitmap
                    if get(&self.train_bits, plane * w * 64 + i * self.n + j) {
                        covered += 1;
                    }
                }
                plane += 1;
            }
        }
        covered as f64 / self.n_planes() as f64
    }

    pub fn new_occupancy(&self) -> Occupancy {
        let n3 = 3 * self.n;
        Occupancy { words_per_plane: words(n3 * n3), bits: vec![0; self.n_planes() * words(n3 * n3)], points: 0 }
    }

    /// Marks the test cells of the points `t` (`[k * m]`).
    pub fn add_points(&self, t: &[f64], occ: &mut Occupancy) -> Result<()> {
        if !t.len().is_multiple_of(self.m) || occ.bits.len() != self.n_planes() * words(9 * self.n * self.n) {
            return Err(Error::Internal("coverage grid: occupancy or points of the wrong size".into()));
        }
        let n3 = 3 * self.n;
        let w = occ.words_per_plane;
        // test-axis cells of every point and component once, then plane by plane
        let cells: Vec<u32> = t.chunks(self.m).flat_map(|row| (0..self.m).map(move |k| self.outer(k, row[k]) as u32)).collect();
        let m = self.m;
        occ.bits.par_chunks_mut(w).zip(planes(self.m)).for_each(|(b, (pa, pb))| {
            for c in cells.chunks(m) {
                set(b, c[pa] as usize * n3 + c[pb] as usize);
            }
        });
        occ.points += (t.len() / self.m) as u64;
        Ok(())
    }

    /// Per-plane `P = NUM(T_cover = 1) / NUM(T_test = 1)`, or None without test points.
    pub fn plane_coverage(&self, occ: &Occupancy) -> Option<Vec<f64>> {
        if occ.points == 0 {
            return None;
        }
        let (n, n3) = (self.n, 3 * self.n);
        let wt = words(n * n);
        let w = occ.words_per_plane;
        Some(
            (0..self.n_planes())
                .map(|p| {
                    let test = &occ.bits[p * w..(p + 1) * w];
                    let train = &self.train_bits[p * wt..(p + 1) * wt];
                    let (mut num_test, mut num_cover) = (0usize, 0usize);
                    for (wi, &word) in test.iter().enumerate() {
                        let mut x = word;
                        while x != 0 {
                            let k = wi * 64 + x.trailing_zeros() as usize;
                            x &= x - 1;
                            num_test += 1;
                            let (i, j) = (k / n3, k % n3);
                            if (n..2 * n).contains(&i) && (n..2 * n).contains(&j) && get(train, (i - n) * n + (j - n)) {
                                num_cover += 1;
                            }
                        }
                    }
                    num_cover as f64 / num_test.max(1) as f64
                })
                .collect(),
        )
    }

    /// The coverage rate: P averaged over planes.
    pub fn coverage(&self, occ: &Occupancy) -> Option<f64> {
        self.plane_coverage(occ).map(|p| p.iter().sum::<f64>() / p.len() as f64)
    }
}

/// Test occupancy `T_test` of every plane (3N x 3N bitmaps); mergeable by OR.
#[derive(Debug, Clone, PartialEq)]
pub struct Occupancy {
    words_per_plane: usize,
    /// The bitmaps, plane after plane; exposed for an MPI bitwise-OR reduction.
    pub bits: Vec<u64>,
    /// Number of test points added (sum it across ranks).
    pub points: u64,
}

impl Occupancy {
    pub fn merge(&mut self, other: &Occupancy) -> Result<()> {
        if other.bits.len() != self.bits.len() {
            return Err(Error::Internal("coverage: merging occupancies of different grids".into()));
        }
        self.bits.iter_mut().zip(&other.bits).for_each(|(a, b)| *a |= b);
        self.points += other.points;
        Ok(())
    }

    pub fn clear(&mut self) {
        self.bits.fill(0);
        self.points = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A regular 2-D cloud: points at the centers of a 4 x 4 lattice of unit cells.
    fn lattice(shift: [f64; 2]) -> Vec<f64> {
        let mut t = Vec::new();
        for i in 0..4 {
            for j in 0..4 {
                t.extend_from_slice(&[i as f64 + shift[0], j as f64 + shift[1]]);
            }
        }
        t
    }

    #[test]
    fn training_covers_itself() {
        let t = lattice([0.0, 0.0]);
        let g = Grid::fit(&t, 2, 3).unwrap();
        let mut occ = g.new_occupancy();
        g.add_points(&t, &mut occ).unwrap();
        assert_eq!(g.coverage(&occ), Some(1.0));
        assert!(t.chunks(2).all(|p| g.point_coverage(p) == 1.0));
        // and a random 5-D cloud too
        let x = crate::coverage::pca::tests::normals(5 * 1000, 3);
        let g5 = Grid::fit(&x, 5, 20).unwrap();
        assert_eq!(g5.n_planes(), 10);
        let mut o5 = g5.new_occupancy();
        g5.add_points(&x, &mut o5).unwrap();
        assert_eq!(g5.coverage(&o5), Some(1.0));
    }

    #[test]
    fn shifted_cloud_by_hand() {
        // Training: 4 x 4 points at 0..3 on both axes, N = 3: the range 0..3 is cut into
        // cells of width 1 at [0,1), [1,2), [2,3]; the points 2 and 3 share the last cell.
        // Training occupies all 3 x 3 = 9 cells.
        let train = lattice([0.0, 0.0]);
        let g = Grid::fit(&train, 2, 3).unwrap();
        assert_eq!(g.train_cells, vec![(0..9).collect::<Vec<u32>>()]);
        // Test: the same lattice shifted by +1.5 along x: x = 1.5, 2.5, 3.5, 4.5 -> cells
        // 1, 2, 3 (outside), 4 (outside); y = 0..3 -> cells 0, 1, 2, 2. Test cells: 4 x 3 = 12,
        // of which x-cells 1, 2 are covered: 2 x 3 = 6 -> P = 0.5.
        let test = lattice([1.5, 0.0]);
        let mut occ = g.new_occupancy();
        g.add_points(&test, &mut occ).unwrap();
        assert_eq!(g.coverage(&occ), Some(0.5));
        // Per atom: covered iff x < 3 (x = 3.5, 4.5 uncovered): 8 of 16 points.
        let covered = test.chunks(2).filter(|p| g.point_coverage(p) == 1.0).count();
        assert_eq!(covered, 8);
        // A shift far away (beyond the N-cell margin) still counts, clamped to the border.
        let mut far = g.new_occupancy();
        g.add_points(&lattice([100.0, 0.0]), &mut far).unwrap();
        assert_eq!(g.coverage(&far), Some(0.0));
        // merging the two test sets: 12 + 3 cells (clamped column x), 6 covered
        occ.merge(&far).unwrap();
        assert_eq!(g.coverage(&occ), Some(6.0 / 15.0));
    }

    #[test]
    fn three_components_average_over_planes() {
        // m = 3 -> planes (0,1), (0,2), (1,2). Training: two points (0,0,0), (1,1,1), N = 2:
        // each plane has cells (0,0) and (1,1) occupied.
        let g = Grid::fit(&[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], 3, 2).unwrap();
        assert_eq!(g.n_planes(), 3);
        // Test point (0, 1, 0): plane (0,1) cell (0,1) empty; (0,2) cell (0,0) covered;
        // (1,2) cell (1,0) empty -> P = 0, 1, 0 -> 1/3.
        let mut occ = g.new_occupancy();
        g.add_points(&[0.0, 1.0, 0.0], &mut occ).unwrap();
        assert_eq!(g.plane_coverage(&occ), Some(vec![0.0, 1.0, 0.0]));
        assert!((g.point_coverage(&[0.0, 1.0, 0.0]) - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(g.coverage(&g.new_occupancy()), None);
    }

    #[test]
    fn roundtrip_rebuilds_bits() {
        let t = lattice([0.0, 0.0]);
        let g = Grid::fit(&t, 2, 5).unwrap();
        let mut h: Grid = serde_json::from_str(&serde_json::to_string(&g).unwrap()).unwrap();
        h.finish().unwrap();
        assert_eq!(g, h);
    }
}
