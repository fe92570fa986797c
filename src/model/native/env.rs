//! The environment matrix rows of the descriptors: DeePMD-kit's smooth switch and the
//! se_e2_a row `[w/r, w·x/r², w·y/r², w·z/r²]` of a neighbor at `d = x_j - x_i`, with
//! its gradient in `d`.

/// DeePMD-kit's smooth switch and its derivative in r.
#[inline]
pub fn switch(r: f64, rmin: f64, rmax: f64) -> (f64, f64) {
    let inside = r > rmin && r < rmax;
    let uu = (r.clamp(rmin, rmax) - rmin) / (rmax - rmin);
    let uu2 = uu * uu;
    let w = uu2 * uu * (-6.0 * uu2 + 15.0 * uu - 10.0) + 1.0;
    let dw = if inside { (-30.0 * uu2 * uu2 + 60.0 * uu2 * uu - 30.0 * uu2) / (rmax - rmin) } else { 0.0 };
    (w, dw)
}

/// The se_e2_a row of a neighbor at `d`, switched between `rcut_smth` and `rcut`.
#[inline]
pub fn se_a_row(d: [f64; 3], rcut_smth: f64, rcut: f64) -> [f64; 4] {
    let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
    let (sw, _) = switch(r, rcut_smth, rcut);
    let t0 = 1.0 / r;
    let r2 = r * r;
    [t0 * sw, d[0] / r2 * sw, d[1] / r2 * sw, d[2] / r2 * sw]
}

/// dE/d(d) from `de` = dE/d(row) of `se_a_row(d)`.
#[inline]
pub fn se_a_row_backward(d: [f64; 3], de: [f64; 4], rcut_smth: f64, rcut: f64) -> [f64; 3] {
    let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    let r = r2.sqrt();
    let (sw, dsw) = switch(r, rcut_smth, rcut);
    // row0 = sw/r, row_{1+b} = sw d_b / r²; one division, the rest by its reciprocal
    let inv_r = 1.0 / r;
    let inv_r2 = inv_r * inv_r;
    let f0 = (dsw - sw * inv_r) * inv_r2;
    let dot = de[1] * d[0] + de[2] * d[1] + de[3] * d[2];
    let f1 = (dsw - 2.0 * sw * inv_r) * inv_r2 * inv_r;
    let c0 = de[0] * f0 + dot * f1;
    let s = sw * inv_r2;
    std::array::from_fn(|a| c0 * d[a] + de[1 + a] * s)
}
