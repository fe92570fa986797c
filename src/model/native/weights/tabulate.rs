//! Tables of the se_e2_a embedding nets, built at load time from the weights: what
//! `dp compress` does for a compressed model, for any model. Between nodes `stride` apart,
//! G(s) is the quintic that matches the net's value, slope and curvature at both ends
//! (DeePMD-kit's table layout: 6 coefficients per output in t = s - node). A table spans
//! s from the cutoff (and the padded slots) to the distance `R_MIN`; closer pairs, rare
//! and unphysical, go through the net itself, so the table never extrapolates.
//!
//! Why: a net costs ~2·(Σ layer widths²) FLOPs and a tanh per hidden value for every pair,
//! a table row 6·M1 reads. The interpolation error is measured when the table is built (in
//! every interval where it peaks, all outputs, value and slope) and the stride halved until
//! it is below `TOLERANCE` × max|G|.

use super::net::Mlp;
use super::se_a::{coefficient_major, Table};
use crate::model::native::tanh::tanh;

/// Default node spacing in s (DeePMD-kit's `dp compress` uses 0.01 with its own range).
pub const STRIDE: f64 = 0.02;
/// The table covers pairs at least this far apart (Å); closer ones use the net.
pub const R_MIN: f64 = 1.0;
/// Largest interpolation error accepted, relative to the largest |G| on the nodes.
pub const TOLERANCE: f64 = 1e-12;

/// G, dG/ds and d²G/ds² of a net with one input at `s`, by forward-mode differentiation.
pub fn value_slope_curvature(net: &Mlp, s: f64) -> [Vec<f64>; 3] {
    let (mut x, mut dx, mut ddx) = (vec![s], vec![1.0], vec![0.0]);
    for l in &net.layers {
        let (ni, no) = (l.n_in, l.n_out);
        let mut z = l.b.clone();
        let (mut dz, mut ddz) = (vec![0.0; no], vec![0.0; no]);
        for i in 0..ni {
            let row = &l.w[i * no..(i + 1) * no];
            for j in 0..no {
                z[j] += x[i] * row[j];
                dz[j] += dx[i] * row[j];
                ddz[j] += ddx[i] * row[j];
            }
        }
        if l.tanh {
            for j in 0..no {
                let t = tanh(z[j]);
                let d = 1.0 - t * t;
                ddz[j] = d * (ddz[j] - 2.0 * t * dz[j] * dz[j]);
                dz[j] *= d;
                z[j] = t;
            }
        }
        if let Some(idt) = &l.idt {
            for j in 0..no {
                (z[j], dz[j], ddz[j]) = (z[j] * idt[j], dz[j] * idt[j], ddz[j] * idt[j]);
            }
        }
        if l.skip() > 0 {
            for j in 0..no {
                (z[j], dz[j], ddz[j]) = (z[j] + x[j % ni], dz[j] + dx[j % ni], ddz[j] + ddx[j % ni]);
            }
        }
        (x, dx, ddx) = (z, dz, ddz);
    }
    [x, dx, ddx]
}

/// The quintic on [0, h] in powers of t with value, slope, curvature `(y, p, a)` at both ends.
fn quintic(h: f64, (y0, p0, a0): (f64, f64, f64), (y1, p1, a1): (f64, f64, f64)) -> [f64; 6] {
    let (h2, h3) = (h * h, h * h * h);
    [
        y0,
        p0,
        a0 / 2.0,
        (20.0 * (y1 - y0) - (8.0 * p1 + 12.0 * p0) * h - (3.0 * a0 - a1) * h2) / (2.0 * h3),
        (30.0 * (y0 - y1) + (14.0 * p1 + 16.0 * p0) * h + (3.0 * a0 - 2.0 * a1) * h2) / (2.0 * h3 * h),
        (12.0 * (y1 - y0) - 6.0 * (p1 + p0) * h - (a0 - a1) * h2) / (2.0 * h3 * h2),
    ]
}

/// The table of `net` on [lo, hi] at node spacing `h`.
fn build(net: &Mlp, lo: f64, hi: f64, h: f64) -> Table {
    let m = net.n_out();
    let rows = (((hi - lo) / h).ceil() as usize).max(1);
    let nodes: Vec<[Vec<f64>; 3]> = (0..=rows).map(|k| value_slope_curvature(net, lo + k as f64 * h)).collect();
    let mut data = Vec::with_capacity(rows * 6 * m);
    for k in 0..rows {
        let (a, b) = (&nodes[k], &nodes[k + 1]);
        for c in 0..m {
            data.extend(quintic(h, (a[0][c], a[1][c], a[2][c]), (b[0][c], b[1][c], b[2][c])));
        }
    }
    let upper = lo + rows as f64 * h;
    Table {
        data: coefficient_major(&data, m),
        m,
        lower: lo,
        upper,
        max: upper,
        stride0: h,
        stride1: h,
        nfine: rows as i64,
        last: rows as i64 - 1,
        rows,
        exact: Some(Box::new(net.clone())),
    }
}

/// Where in an interval the error of a quintic Hermite interpolant peaks: the value's at
/// the middle, the slope's at 1/2 ± 1/(2√5) (the error is ∝ t³(1-t)³ for a smooth net).
const PEAKS: [f64; 3] = [0.276_393_202_250_021, 0.5, 0.723_606_797_749_979];

/// Largest |table - net| (value and slope) where each interval's error peaks, relative to
/// max |G|.
fn error(table: &Table, net: &Mlp) -> f64 {
    let m = table.m;
    let (mut g, mut dg) = (vec![0.0; m], vec![0.0; m]);
    let (mut worst, mut scale) = (0.0f64, 0.0f64);
    for (k, at) in (0..table.rows).flat_map(|k| PEAKS.map(|p| (k, p))) {
        let s = table.lower + (k as f64 + at) * table.stride0;
        table.interpolate::<false>(s, &mut g, &mut dg);
        let [v, d, _] = value_slope_curvature(net, s);
        for c in 0..m {
            worst = worst.max((g[c] - v[c]).abs()).max((dg[c] - d[c]).abs());
            scale = scale.max(v[c].abs());
        }
    }
    worst / scale.max(1.0)
}

/// The table of `net` for s in [lo, hi], at `STRIDE` or finer until the interpolation error
/// is within `TOLERANCE`; returns it with the error measured.
pub fn tabulate(net: &Mlp, lo: f64, hi: f64) -> (Table, f64) {
    let mut h = STRIDE;
    loop {
        let t = build(net, lo, hi, h);
        let e = error(&t, net);
        if e <= TOLERANCE || h < STRIDE / 16.0 {
            return (t, e);
        }
        h /= 2.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::native::mlp;
    use crate::model::native::test_support::{net, Lcg};

    #[test]
    fn forward_mode_matches_the_net_and_finite_differences() {
        let mut rng = Lcg(5);
        let n = net(&mut rng);
        for s in [-0.7, 0.0, 0.3, 2.5] {
            let [v, d, dd] = value_slope_curvature(&n, s);
            let mut acts = Vec::new();
            mlp::forward(&n, 1, &[s], &mut acts);
            let y = &acts.last().unwrap().y;
            let h = 1e-4;
            let [vp, dp, _] = value_slope_curvature(&n, s + h);
            let [vm, dm, _] = value_slope_curvature(&n, s - h);
            for c in 0..v.len() {
                assert!((v[c] - y[c]).abs() < 1e-14, "value {c}: {} vs {}", v[c], y[c]);
                assert!((d[c] - (vp[c] - vm[c]) / (2.0 * h)).abs() < 1e-7, "slope {c}");
                assert!((dd[c] - (dp[c] - dm[c]) / (2.0 * h)).abs() < 1e-7, "curvature {c}");
            }
        }
    }

    #[test]
    fn table_follows_the_net_inside_and_is_the_net_outside() {
        let mut rng = Lcg(9);
        let n = net(&mut rng);
        let (t, err) = tabulate(&n, -0.5, 3.0);
        assert!(err <= TOLERANCE, "measured error {err:e}");
        let m = t.m;
        let (mut g, mut dg) = (vec![0.0; m], vec![0.0; m]);
        for k in 0..997 {
            let s = -1.0 + 5.0 * k as f64 / 996.0; // beyond both ends too
            t.eval::<false>(s, &mut g, &mut dg);
            let [v, d, _] = value_slope_curvature(&n, s);
            for c in 0..m {
                assert!((g[c] - v[c]).abs() < 1e-12 && (dg[c] - d[c]).abs() < 1e-12, "s = {s}, output {c}: {} {} / {} {} err {err:e}", g[c], v[c], dg[c], d[c]);
            }
        }
    }
}
