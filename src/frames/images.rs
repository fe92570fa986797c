//! Periodic images of a frame, built by brute force, and the model's extended atoms and
//! neighbor list from them (for the offline tools: `llzo-dp eval` and `llzo-dp coverage`).

use super::frame::Frame;
use crate::error::{Error, Result};

/// Atoms extended by their periodic images, in the model's convention.
pub struct Extended {
    /// `[nall * 3]`: the frame's atoms first, then images within `rcut` of one of them.
    pub coords: Vec<f64>,
    /// Frame atom of each extended atom.
    pub owner: Vec<usize>,
    /// `[n * width]` extended indices of each frame atom's neighbors, -1 padded.
    pub nlist: Vec<i64>,
    pub width: usize,
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

/// Image repetitions needed along a, b, c to see everything within `rcut`.
fn repetitions(f: &Frame, rcut: f64) -> Result<[i64; 3]> {
    if !f.periodic() {
        return Ok([0; 3]);
    }
    let [a, b, c] = f.cell;
    let vol = dot(a, cross(b, c)).abs();
    let widths = [vol / norm(cross(b, c)), vol / norm(cross(c, a)), vol / norm(cross(a, b))];
    if !widths.iter().all(|w| w.is_finite() && *w > 1e-6 * rcut) {
        return Err(Error::Input(format!("degenerate periodic cell {:?}", f.cell)));
    }
    let reps = widths.map(|w| (rcut / w).ceil() as i64);
    if reps.iter().product::<i64>() > 10_000 {
        return Err(Error::Input(format!("cell {:?} is far too small for the cutoff {rcut} Å", f.cell)));
    }
    Ok(reps)
}

/// Brute-force images and neighbor list: O(n^2 * images), fine for the cells of a
/// training set or a few thousand atoms.
pub fn extend(f: &Frame, rcut: f64) -> Result<Extended> {
    let reps = repetitions(f, rcut)?;
    let [a, b, c] = f.cell;
    let n = f.pos.len();
    let mut coords: Vec<f64> = f.pos.iter().flatten().copied().collect();
    let mut owner: Vec<usize> = (0..n).collect();
    let mut rows: Vec<Vec<i64>> = vec![Vec::new(); n];
    let rc2 = rcut * rcut;
    for i in -reps[0]..=reps[0] {
        for j in -reps[1]..=reps[1] {
            for k in -reps[2]..=reps[2] {
                let s: Vec<f64> = (0..3).map(|d| i as f64 * a[d] + j as f64 * b[d] + k as f64 * c[d]).collect();
                for (m, p) in f.pos.iter().enumerate() {
                    let q = [p[0] + s[0], p[1] + s[1], p[2] + s[2]];
                    let mut ext = None;
                    for (l, x) in f.pos.iter().enumerate() {
                        let d2 = (q[0] - x[0]).powi(2) + (q[1] - x[1]).powi(2) + (q[2] - x[2]).powi(2);
                        if d2 >= rc2 || (i, j, k, m) == (0, 0, 0, l) {
                            continue;
                        }
                        let e = *ext.get_or_insert_with(|| {
                            if (i, j, k) == (0, 0, 0) {
                                return m as i64;
                            }
                            coords.extend_from_slice(&q);
                            owner.push(m);
                            (owner.len() - 1) as i64
                        });
                        rows[l].push(e);
                    }
                }
            }
        }
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let mut nlist = vec![-1i64; n * width];
    for (l, r) in rows.iter().enumerate() {
        nlist[l * width..l * width + r.len()].copy_from_slice(r);
    }
    Ok(Extended { coords, owner, nlist, width })
}

/// Moves every atom into the cell, so the image search above finds all neighbors even
/// for unwrapped trajectories.
pub fn wrap(f: &mut Frame) -> Result<()> {
    if !f.periodic() {
        return Ok(());
    }
    let [a, b, c] = f.cell;
    let vol = dot(a, cross(b, c));
    if !(vol.abs() > 1e-12) {
        return Err(Error::Input(format!("degenerate periodic cell {:?}", f.cell)));
    }
    // fractional coordinates: s_k = (r . (b x c), r . (c x a), r . (a x b)) / V
    let duals = [cross(b, c), cross(c, a), cross(a, b)];
    for p in f.pos.iter_mut() {
        let s = duals.map(|d| {
            let x = dot(*p, d) / vol;
            x - x.floor()
        });
        *p = [0, 1, 2].map(|d| s[0] * a[d] + s[1] * b[d] + s[2] * c[d]);
    }
    Ok(())
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_of_a_simple_cubic_crystal() {
        // one atom in a 3 Å cube, rcut 3.5: 6 neighbors at 3 Å, 12 at 4.24 (outside)
        let f = Frame { origin: [0.0; 3], cell: [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]], pos: vec![[0.5, 0.5, 0.5]], types: vec![0], pbc: [true; 3] };
        let e = extend(&f, 3.5).unwrap();
        assert_eq!(e.nlist.iter().filter(|&&j| j >= 0).count(), 6);
        assert_eq!(e.owner.len(), 7);
        // a skewed but equivalent cell (b' = b + a) and an unwrapped position give the same
        let mut g = Frame { origin: [0.0; 3], cell: [[3.0, 0.0, 0.0], [3.0, 3.0, 0.0], [0.0, 0.0, 3.0]], pos: vec![[30.5, -8.5, 0.5]], types: vec![0], pbc: [true; 3] };
        wrap(&mut g).unwrap();
        assert_eq!(extend(&g, 3.5).unwrap().nlist.iter().filter(|&&j| j >= 0).count(), 6);
    }

}
