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
//!
//! Bitmap layout ([`Rows`]): for component a, its cell i and a partner b > a, the cells of
//! b form one bit row. An atom, whose cell along a is fixed, then touches the m - a - 1
//! consecutive rows of (a, i) instead of one word in each of m(m-1)/2 plane bitmaps far
//! apart: the per-atom work streams through memory.
//!
//! A test occupancy ends with one bit per component a and test cell i, set when a point
//! marked the rows of (a, i). A frame's points fill few of the 3N cells along a component
//! (most of them sit inside the training range, and there near its middle), so counting and
//! clearing visit only the marked runs of rows instead of the whole bitmap (2.35 MB for the
//! shipped model), which the model's step would otherwise evict from the cache each frame.
//! The marks merge by OR like the rows.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::coverage::bit_rows;
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
    /// Training bitmaps (N rows of N cells per plane), rebuilt from `train_cells` (`finish`).
    #[serde(skip)]
    train_bits: Vec<u64>,
}

/// Component pairs (a, b), a < b, in order.
pub fn planes(m: usize) -> Vec<(usize, usize)> {
    (0..m).flat_map(|a| (a + 1..m).map(move |b| (a, b))).collect()
}

fn get(bits: &[u64], k: usize) -> bool {
    // out of range reads as empty: a grid deserialized without `finish` must not panic
    bits.get(k / 64).is_some_and(|w| w >> (k % 64) & 1 == 1)
}

fn set(bits: &mut [u64], k: usize) {
    bits[k / 64] |= 1 << (k % 64);
}

/// Where the bit row of (component a, its cell i, partner b) starts, for `cells` cells per
/// axis: rows of `words` words, grouped by a, then i, then b.
#[derive(Debug, Clone, Copy)]
struct Rows {
    m: usize,
    cells: usize,
    words: usize,
}

impl Rows {
    fn new(m: usize, cells: usize) -> Rows {
        Rows { m, cells, words: cells.div_ceil(64) }
    }

    /// First word of component a's block.
    fn block(&self, a: usize) -> usize {
        // sum over a' < a of (m - a' - 1) partners
        let partners = a * self.m - a * (a + 1) / 2;
        partners * self.cells * self.words
    }

    fn len(&self) -> usize {
        self.block(self.m)
    }

    /// First word of the row (a, i, b), relative to component a's block.
    fn row_in_block(&self, a: usize, i: usize, b: usize) -> usize {
        (i * (self.m - a - 1) + (b - a - 1)) * self.words
    }

    fn row(&self, a: usize, i: usize, b: usize) -> usize {
        self.block(a) + self.row_in_block(a, i, b)
    }
}

/// No cell: a component outside the training range (`Grid::inner`).
const OUTSIDE: u16 = u16::MAX;

impl Grid {
    fn train_rows(&self) -> Rows {
        Rows::new(self.m, self.n)
    }

    fn test_rows(&self) -> Rows {
        Rows::new(self.m, 3 * self.n)
    }

    /// Words of one component's touched marks (one bit per test cell along it).
    fn touched_words(&self) -> usize {
        (3 * self.n).div_ceil(64)
    }

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
        let rows = g.train_rows();
        let mut bits = vec![0u64; rows.len()];
        let mut cells = vec![OUTSIDE; m];
        for row in t.chunks(m) {
            g.inner_cells(row, &mut cells);
            mark_rows(&rows, &cells, &mut bits);
        }
        g.train_bits = bits;
        g.train_cells = planes(m)
            .into_iter()
            .map(|(a, b)| {
                let mut c = Vec::new();
                for i in 0..n {
                    let r = rows.row(a, i, b) * 64;
                    c.extend((0..n).filter(|&j| get(&g.train_bits, r + j)).map(|j| (i * n + j) as u32));
                }
                c
            })
            .collect();
        Ok(g)
    }

    /// Checks sizes and rebuilds the bitmaps after deserializing.
    pub fn finish(&mut self) -> Result<()> {
        let np = planes(self.m).len();
        let nn = self.n * self.n;
        if self.m < 2 || self.n == 0 || self.n > 4096 || self.lo.len() != self.m || self.width.len() != self.m || self.train_cells.len() != np {
            return Err(Error::Input("coverage reference: inconsistent grid sizes".into()));
        }
        if self.width.iter().any(|w| !(*w > 0.0)) {
            return Err(Error::Input("coverage reference: grid cell width <= 0".into()));
        }
        let rows = self.train_rows();
        self.train_bits = vec![0u64; rows.len()];
        for ((a, b), cells) in planes(self.m).into_iter().zip(&self.train_cells) {
            for &c in cells {
                if c as usize >= nn {
                    return Err(Error::Input("coverage reference: grid cell index out of range".into()));
                }
                let (i, j) = (c as usize / self.n, c as usize % self.n);
                set(&mut self.train_bits, rows.row(a, i, b) * 64 + j);
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
        let i = if u.is_finite() { floor_clamped(u) } else if u > 0.0 { i64::MAX / 2 } else { -1 };
        // the training maximum sits exactly on the upper edge: it belongs to the last cell;
        // and the extremes, projected again in another order of sums, stay inside
        if i == self.n as i64 && u <= self.n as f64 * (1.0 + 1e-12) {
            return self.n as i64 - 1;
        }
        if i == -1 && u >= -1e-12 * self.n as f64 {
            return 0;
        }
        i
    }

    /// Cell along component k inside the training range, if any.
    fn inner(&self, k: usize, v: f64) -> Option<usize> {
        let i = self.index(k, v);
        (i >= 0 && i < self.n as i64).then_some(i as usize)
    }

    /// Cells of every component inside the training range, `OUTSIDE` where there is none.
    fn inner_cells(&self, t: &[f64], cells: &mut [u16]) {
        for (k, c) in cells.iter_mut().enumerate() {
            *c = self.inner(k, t[k]).map_or(OUTSIDE, |i| i as u16);
        }
    }

    /// Cell along component k on the 3N test axis (training range = N..2N).
    fn outer(&self, k: usize, v: f64) -> usize {
        let n = self.n as i64;
        (self.index(k, v).clamp(-n, 2 * n - 1) + n) as usize
    }

    /// Fraction of planes on which the point `t` (m components) is in a training cell.
    pub fn point_coverage(&self, t: &[f64]) -> f64 {
        let mut cells = vec![OUTSIDE; self.m];
        self.inner_cells(t, &mut cells);
        self.covered_planes(&cells) as f64 / self.n_planes() as f64
    }

    /// Planes on which the point with these inner cells sits in a training cell.
    fn covered_planes(&self, cells: &[u16]) -> usize {
        let rows = self.train_rows();
        if rows.words == 1 {
            // one word per row (N <= 64): OUTSIDE partners count as not covered
            return bit_rows::count_covered_atom(&self.train_bits, cells, |a, i| rows.row(a, i, a + 1));
        }
        let mut covered = 0usize;
        for a in 0..self.m - 1 {
            if cells[a] == OUTSIDE {
                continue; // none of a's planes can be covered
            }
            // the rows of (a, cells[a], b) for b = a + 1.. follow each other
            let start = rows.row(a, cells[a] as usize, a + 1);
            let partners = &cells[a + 1..];
            for (q, &j) in partners.iter().enumerate() {
                if j != OUTSIDE {
                    covered += get(&self.train_bits, (start + q * rows.words) * 64 + j as usize) as usize;
                }
            }
        }
        covered
    }

    /// Words of the test occupancy `T_test` of every plane (3N x 3N cells per plane, in the
    /// bit rows of [`Rows`]), then of the touched marks (module docs); occupancies of several
    /// frames or ranks merge by OR.
    pub fn occupancy_len(&self) -> usize {
        self.test_rows().len() + self.m * self.touched_words()
    }

    /// Test cells i along component a whose rows (a, i, b > a) may hold a bit, from the
    /// touched marks (the end of an occupancy).
    fn touched_cells<'a>(&self, marks: &'a [u64], a: usize) -> impl Iterator<Item = usize> + 'a {
        let tw = self.touched_words();
        marks[a * tw..(a + 1) * tw].iter().enumerate().flat_map(|(wi, &w)| {
            let mut x = w;
            std::iter::from_fn(move || {
                (x != 0).then(|| {
                    let j = x.trailing_zeros() as usize;
                    x &= x - 1;
                    wi * 64 + j
                })
            })
        })
    }

    /// Empties the occupancy `occ` for the next frame: zeroes the touched runs of rows and
    /// the marks (the whole buffer when it has another size).
    pub fn clear_occupancy(&self, occ: &mut [u64]) {
        if occ.len() != self.occupancy_len() {
            occ.fill(0);
            return;
        }
        let rows = self.test_rows();
        let (bits, marks) = occ.split_at_mut(rows.len());
        for a in 0..self.m.saturating_sub(1) {
            let run = (self.m - a - 1) * rows.words;
            for i in self.touched_cells(marks, a) {
                let start = rows.row(a, i, a + 1);
                bits[start..start + run].fill(0);
            }
        }
        marks.fill(0);
    }

    /// Marks the test cells of the points `t` (`[k * m]`) in `occ` (`occupancy_len` words)
    /// and, when `point_coverage` is given (`[k]`), writes each point's fraction of covered
    /// planes into it.
    pub fn add_points(&self, t: &[f64], occ: &mut [u64], point_coverage: Option<&mut [f64]>) -> Result<()> {
        self.add_points_with(t, occ, point_coverage, &mut Vec::new())
    }

    /// `add_points` with the points' test-axis cells in `outer`, a buffer kept from call to
    /// call (the monitor's per-step path).
    pub fn add_points_with(&self, t: &[f64], occ: &mut [u64], point_coverage: Option<&mut [f64]>, outer: &mut Vec<u16>) -> Result<()> {
        let rows = self.test_rows();
        let k = t.len() / self.m;
        if !t.len().is_multiple_of(self.m) || occ.len() != self.occupancy_len() || point_coverage.as_ref().is_some_and(|c| c.len() != k) {
            return Err(Error::Internal("coverage grid: occupancy or points of the wrong size".into()));
        }
        let m = self.m;
        // test-axis cells of every point and component once
        outer.clear();
        outer.extend(t.chunks(m).flat_map(|row| (0..m).map(move |c| self.outer(c, row[c]) as u16)));
        let outer = &outer[..];
        // each component's block of rows and its touched marks are written by one task
        let mut blocks: Vec<&mut [u64]> = Vec::with_capacity(m);
        let (mut rest, marks) = occ.split_at_mut(rows.len());
        for a in 0..m {
            let (head, tail) = rest.split_at_mut(rows.block(a + 1) - rows.block(a));
            blocks.push(head);
            rest = tail;
        }
        let tasks = blocks.into_par_iter().zip(marks.par_chunks_mut(self.touched_words()));
        tasks.enumerate().filter(|(a, _)| a + 1 < m).for_each(|(a, (block, touched))| {
            for c in outer.chunks_exact(m) {
                let i = c[a] as usize;
                touched[i / 64] |= 1 << (i % 64);
            }
            if rows.words == 1 {
                bit_rows::mark_block(block, &outer, m, a, |i| rows.row_in_block(a, i, a + 1));
                return;
            }
            for c in outer.chunks(m) {
                // the rows of (a, c[a], b) for b = a + 1.. follow each other
                let start = rows.row_in_block(a, c[a] as usize, a + 1);
                for (q, &j) in c[a + 1..].iter().enumerate() {
                    set(block, (start + q * rows.words) * 64 + j as usize);
                }
            }
        });
        if let Some(cov) = point_coverage {
            let (np, n) = (self.n_planes() as f64, self.n as u16);
            cov.par_iter_mut().zip(outer.par_chunks(m)).for_each_init(
                || vec![OUTSIDE; m],
                |cells, (c, outer)| {
                    // the training cells are the middle third of the test axis
                    cells.iter_mut().zip(outer).for_each(|(c, &o)| *c = if (n..2 * n).contains(&o) { o - n } else { OUTSIDE });
                    *c = self.covered_planes(cells) as f64 / np;
                },
            );
        }
        Ok(())
    }

    /// Per-plane `P = NUM(T_cover = 1) / NUM(T_test = 1)` of the occupancy `occ` holding
    /// `points` test points, or None without any.
    pub fn plane_coverage(&self, occ: &[u64], points: u64) -> Option<Vec<f64>> {
        if points == 0 || occ.len() != self.occupancy_len() {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has POPCNT, the only feature `plane_coverage_popcnt` is compiled for.
            return Some(unsafe { self.plane_coverage_popcnt(occ) });
        }
        Some(self.count_planes(occ))
    }

    /// `count_planes` with `count_ones` as one instruction (the x86-64 baseline lacks it).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn plane_coverage_popcnt(&self, occ: &[u64]) -> Vec<f64> {
        self.count_planes(occ)
    }

    /// The body of `plane_coverage`.
    #[inline(always)]
    fn count_planes(&self, occ: &[u64]) -> Vec<f64> {
        let (m, n, test, train) = (self.m, self.n, self.test_rows(), self.train_rows());
        let np = self.n_planes();
        let (occ, marks) = occ.split_at(test.len());
        let (mut num_test, mut num_cover) = (vec![0usize; np], vec![0usize; np]);
        // rows in memory order: component a, its test cell i, partners b (planes
        // first..first + m - a - 1)
        let mut first = 0;
        for a in 0..m {
            let partners = m - a - 1;
            if partners == 0 {
                break;
            }
            // rows of cells no point touched are empty
            for i in self.touched_cells(marks, a) {
                let inside = (n..2 * n).contains(&i);
                let start = test.row(a, i, a + 1);
                let run = &occ[start..start + partners * test.words];
                if test.words == 1 {
                    // one word per row: training cell j is test cell j + N, so the covered cells
                    // are the test word AND the training word shifted by N (3N <= 64)
                    let tests = &mut num_test[first..first + partners];
                    tests.iter_mut().zip(run).for_each(|(t, w)| *t += w.count_ones() as usize);
                    if inside {
                        let r = train.row(a, i - n, a + 1);
                        let covers = num_cover[first..first + partners].iter_mut();
                        for ((c, w), tr) in covers.zip(run).zip(&self.train_bits[r..r + partners]) {
                            *c += (w & (tr << n)).count_ones() as usize;
                        }
                    }
                    continue;
                }
                for (q, words) in run.chunks_exact(test.words).enumerate() {
                    let b = a + 1 + q;
                    let (t, c) = (&mut num_test[first + q], &mut num_cover[first + q]);
                    for (wi, &word) in words.iter().enumerate() {
                        let mut x = word;
                        while x != 0 {
                            let j = wi * 64 + x.trailing_zeros() as usize;
                            x &= x - 1;
                            *t += 1;
                            if inside && (n..2 * n).contains(&j) && get(&self.train_bits, train.row(a, i - n, b) * 64 + j - n) {
                                *c += 1;
                            }
                        }
                    }
                }
            }
            first += partners;
        }
        num_cover.iter().zip(&num_test).map(|(&c, &t)| c as f64 / t.max(1) as f64).collect()
    }

    /// The coverage rate: P averaged over planes.
    pub fn coverage(&self, occ: &[u64], points: u64) -> Option<f64> {
        self.plane_coverage(occ, points).map(|p| p.iter().sum::<f64>() / p.len() as f64)
    }
}

/// `floor(u)` clamped to +-1e9 for a finite `u`, without the call to `floor` that the
/// x86-64 baseline (no SSE4.1 rounding) makes: a truncation, one lower below zero.
#[inline(always)]
fn floor_clamped(u: f64) -> i64 {
    let u = u.clamp(-1e9, 1e9);
    let t = u as i64;
    t - ((t as f64) > u) as i64
}

/// Sets the bits of a point's cells (`OUTSIDE` components skipped) in a train-layout bitmap.
fn mark_rows(rows: &Rows, cells: &[u16], bits: &mut [u64]) {
    for a in 0..rows.m {
        if cells[a] == OUTSIDE {
            continue;
        }
        for b in a + 1..rows.m {
            if cells[b] != OUTSIDE {
                set(bits, rows.row(a, cells[a] as usize, b) * 64 + cells[b] as usize);
            }
        }
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
        let mut occ = vec![0u64; g.occupancy_len()];
        g.add_points(&t, &mut occ, None).unwrap();
        assert_eq!(g.coverage(&occ, 16), Some(1.0));
        assert!(t.chunks(2).all(|p| g.point_coverage(p) == 1.0));
        // and a random 5-D cloud too
        let x = crate::coverage::pca::tests::normals(5 * 1000, 3);
        let g5 = Grid::fit(&x, 5, 20).unwrap();
        assert_eq!(g5.n_planes(), 10);
        let mut o5 = vec![0u64; g5.occupancy_len()];
        g5.add_points(&x, &mut o5, None).unwrap();
        assert_eq!(g5.coverage(&o5, 1000), Some(1.0));
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
        let mut occ = vec![0u64; g.occupancy_len()];
        g.add_points(&test, &mut occ, None).unwrap();
        assert_eq!(g.coverage(&occ, 16), Some(0.5));
        // Per atom: covered iff x < 3 (x = 3.5, 4.5 uncovered): 8 of 16 points.
        let covered = test.chunks(2).filter(|p| g.point_coverage(p) == 1.0).count();
        assert_eq!(covered, 8);
        // A shift far away (beyond the N-cell margin) still counts, clamped to the border.
        let mut far = vec![0u64; g.occupancy_len()];
        g.add_points(&lattice([100.0, 0.0]), &mut far, None).unwrap();
        assert_eq!(g.coverage(&far, 16), Some(0.0));
        // merging the two test sets: 12 + 3 cells (clamped column x), 6 covered
        occ.iter_mut().zip(&far).for_each(|(a, b)| *a |= b);
        assert_eq!(g.coverage(&occ, 32), Some(6.0 / 15.0));
    }

    #[test]
    fn three_components_average_over_planes() {
        // m = 3 -> planes (0,1), (0,2), (1,2). Training: two points (0,0,0), (1,1,1), N = 2:
        // each plane has cells (0,0) and (1,1) occupied.
        let g = Grid::fit(&[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], 3, 2).unwrap();
        assert_eq!(g.n_planes(), 3);
        // Test point (0, 1, 0): plane (0,1) cell (0,1) empty; (0,2) cell (0,0) covered;
        // (1,2) cell (1,0) empty -> P = 0, 1, 0 -> 1/3.
        let mut occ = vec![0u64; g.occupancy_len()];
        g.add_points(&[0.0, 1.0, 0.0], &mut occ, None).unwrap();
        assert_eq!(g.plane_coverage(&occ, 1), Some(vec![0.0, 1.0, 0.0]));
        assert!((g.point_coverage(&[0.0, 1.0, 0.0]) - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(g.coverage(&vec![0u64; g.occupancy_len()], 0), None);
    }

    /// The paper's definition computed the plain way: per plane, sets of cells.
    fn by_definition(g: &Grid, train: &[f64], test: &[f64]) -> (Vec<f64>, Vec<f64>) {
        use std::collections::HashSet;
        let (m, n) = (g.m as usize, g.n as i64);
        let cell = |k: usize, v: f64| g.index(k, v).clamp(-n, 2 * n - 1);
        let mut per_plane = Vec::new();
        let mut hits = vec![0usize; test.len() / m];
        for (a, b) in planes(m) {
            let tr: HashSet<(i64, i64)> = train.chunks(m).map(|r| (cell(a, r[a]), cell(b, r[b]))).collect();
            let te: HashSet<(i64, i64)> = test.chunks(m).map(|r| (cell(a, r[a]), cell(b, r[b]))).collect();
            per_plane.push(te.intersection(&tr).count() as f64 / te.len() as f64);
            for (h, r) in hits.iter_mut().zip(test.chunks(m)) {
                *h += tr.contains(&(cell(a, r[a]), cell(b, r[b]))) as usize;
            }
        }
        let np = planes(m).len() as f64;
        (per_plane, hits.iter().map(|&h| h as f64 / np).collect())
    }

    #[test]
    fn bit_rows_agree_with_the_definition() {
        // N = 7 (one word per row) and N = 70 (rows of 2 and 4 words); test points spread
        // wider than training, so some fall outside and beyond the margin
        for (m, n) in [(6, 7), (4, 70), (2, 1)] {
            let train = crate::coverage::pca::tests::normals(m * 400, 11);
            let test: Vec<f64> = crate::coverage::pca::tests::normals(m * 300, 12).iter().map(|x| 1.6 * x + 0.2).collect();
            let g = Grid::fit(&train, m, n).unwrap();
            let mut occ = vec![0u64; g.occupancy_len()];
            let mut cov = vec![0.0; test.len() / m];
            g.add_points(&test, &mut occ, Some(&mut cov)).unwrap();
            let (planes_want, points_want) = by_definition(&g, &train, &test);
            assert_eq!(g.plane_coverage(&occ, cov.len() as u64).unwrap(), planes_want, "m {m} N {n}");
            assert_eq!(cov, points_want, "m {m} N {n}");
            assert!(points_want.iter().any(|&c| c < 1.0) && points_want.iter().any(|&c| c > 0.0));
            for (c, p) in cov.iter().zip(test.chunks(m)) {
                assert_eq!(*c, g.point_coverage(p));
            }
        }
    }

    #[test]
    fn clearing_the_touched_rows_empties_the_occupancy() {
        // points spread wider than training (cells outside and beyond the margin too), one
        // and several words per row; clearing must leave the buffer as a new one, and a
        // second frame counted in it must read as in a new buffer
        for (m, n) in [(6, 7), (4, 70)] {
            let train = crate::coverage::pca::tests::normals(m * 400, 21);
            let g = Grid::fit(&train, m, n).unwrap();
            let frame = |seed| -> Vec<f64> { crate::coverage::pca::tests::normals(m * 50, seed).iter().map(|x| 1.6 * x + 0.2).collect() };
            let mut occ = vec![0u64; g.occupancy_len()];
            g.add_points(&frame(22), &mut occ, None).unwrap();
            let marks = &occ[g.test_rows().len()..];
            let touched: usize = (0..m - 1).map(|a| g.touched_cells(marks, a).count()).sum();
            assert!(touched > 0 && touched < (m - 1) * 3 * n, "m {m} N {n}: {touched} touched cells");
            g.clear_occupancy(&mut occ);
            assert!(occ.iter().all(|&w| w == 0), "m {m} N {n}");
            let second = frame(23);
            g.add_points(&second, &mut occ, None).unwrap();
            let mut fresh = vec![0u64; g.occupancy_len()];
            g.add_points(&second, &mut fresh, None).unwrap();
            assert_eq!(occ, fresh);
            assert_eq!(g.plane_coverage(&occ, 50), Some(by_definition(&g, &train, &second).0));
        }
    }

    #[test]
    fn floor_without_the_library_call() {
        for u in [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.999999999, -2.000000001, 1e-300, -1e-300, 4.5e15, -4.5e15, 1e9, -1e9, 3e12, -7e20] {
            assert_eq!(floor_clamped(u), u.floor().clamp(-1e9, 1e9) as i64, "{u}");
        }
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
