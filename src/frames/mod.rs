//! Frames outside LAMMPS: deepmd/npy systems, and periodic images built by brute force
//! (for the offline tools: `llzo-dp eval` and `llzo-dp coverage`).

pub mod write;

use std::path::{Path, PathBuf};

use crate::coverage::features::{compute, FeatureParams, Neighborhood};
use crate::error::{Error, Result};

pub struct Frame {
    /// Cell rows a, b, c (Å).
    pub cell: [[f64; 3]; 3],
    pub pos: Vec<[f64; 3]>,
    /// Model type (0-based index into the type map) of each atom.
    pub types: Vec<usize>,
    /// False for a deepmd/npy system marked `nopbc`: no images.
    pub periodic: bool,
}

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
    if !f.periodic {
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

/// Features of every atom of a frame (wrapped, images built here): `out` `[n * p]`;
/// returns the model type of each atom.
pub fn frame_features(frame: &Frame, params: &FeatureParams, out: &mut Vec<f64>) -> Result<Vec<i64>> {
    let mut f = Frame { cell: frame.cell, pos: frame.pos.clone(), types: frame.types.clone(), periodic: frame.periodic };
    wrap(&mut f)?;
    let ext = extend(&f, params.rcut)?;
    let atype: Vec<i64> = ext.owner.iter().map(|&o| f.types[o] as i64).collect();
    let nb = Neighborhood { coords: &ext.coords, types: &atype, nloc: f.pos.len(), nlist: &ext.nlist };
    compute(params, &nb, out)?;
    Ok(atype[..f.pos.len()].to_vec())
}

/// Moves every atom into the cell, so the image search above finds all neighbors even
/// for unwrapped trajectories.
pub fn wrap(f: &mut Frame) -> Result<()> {
    if !f.periodic {
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

/// Reads a little-endian float64 or float32 `.npy` array (C order): shape and values.
pub fn read_npy(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let bad = |m: &str| Error::Input(format!("{}: {m}", path.display()));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file"));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err(bad("unsupported .npy version")),
    };
    let header = bytes.get(start..start + hlen).ok_or_else(|| bad("truncated header"))?;
    let header = String::from_utf8_lossy(header);
    let field = |key: &str| -> Option<String> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
        let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find(',')? };
        Some(rest[..end].trim().to_string())
    };
    if field("fortran_order").as_deref() != Some("False") {
        return Err(bad("Fortran-ordered arrays are not supported"));
    }
    let descr = field("descr").ok_or_else(|| bad("no descr"))?;
    let size = match descr.trim_matches('\'') {
        "<f8" => 8,
        "<f4" => 4,
        d => return Err(bad(&format!("dtype {d} is not supported (need <f8 or <f4)"))),
    };
    let shape_text = field("shape").ok_or_else(|| bad("no shape"))?;
    let shape = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad("bad shape")))
        .collect::<Result<Vec<usize>>>()?;
    let count: usize = shape.iter().product();
    let data = &bytes[start + hlen..];
    if data.len() != count * size {
        return Err(bad(&format!("{} data bytes for shape {shape:?}", data.len())));
    }
    let values = if size == 8 {
        data.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
    } else {
        data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect()
    };
    Ok((shape, values))
}

/// deepmd/npy systems at or below `root`: every directory that holds a `type.raw`.
pub fn find_systems(root: &Path) -> Result<Vec<PathBuf>> {
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", root.display()));
    if root.join("type.raw").is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    if !root.is_dir() {
        return Err(Error::Input(format!("{}: not a deepmd/npy system or directory", root.display())));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root).map_err(io)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    let mut out = Vec::new();
    for e in entries {
        if e.is_dir() {
            out.extend(find_systems(&e)?);
        }
    }
    Ok(out)
}

/// All frames of a deepmd/npy system, with types mapped onto `type_map` by name when the
/// system has a `type_map.raw` (else taken as indices into `type_map`).
pub fn read_system(dir: &Path, type_map: &[String]) -> Result<Vec<Frame>> {
    let rd = |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| Error::Io(format!("{}/{name}: {e}", dir.display())));
    let raw: Vec<usize> = rd("type.raw")?
        .split_whitespace()
        .map(|s| s.parse::<usize>().map_err(|_| Error::Input(format!("{}/type.raw: bad type '{s}'", dir.display()))))
        .collect::<Result<_>>()?;
    let types: Vec<usize> = if dir.join("type_map.raw").is_file() {
        let names: Vec<String> = rd("type_map.raw")?.split_whitespace().map(String::from).collect();
        raw.iter()
            .map(|&t| {
                let name = names.get(t).ok_or_else(|| Error::Input(format!("{}: type {t} not in type_map.raw", dir.display())))?;
                type_map.iter().position(|n| n == name).ok_or_else(|| {
                    Error::Input(format!("{}: element {name} is not in the type map [{}]", dir.display(), type_map.join(" ")))
                })
            })
            .collect::<Result<_>>()?
    } else {
        if let Some(t) = raw.iter().find(|&&t| t >= type_map.len()) {
            return Err(Error::Input(format!("{}: type {t} outside the type map", dir.display())));
        }
        raw
    };
    let periodic = !dir.join("nopbc").exists();
    let mut sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("set.")))
        .collect();
    sets.sort();
    let n = types.len();
    let mut frames = Vec::new();
    for set in sets {
        let (cs, coords) = read_npy(&set.join("coord.npy"))?;
        let nf = cs.first().copied().unwrap_or(0);
        if coords.len() != nf * n * 3 {
            return Err(Error::Input(format!("{}: coord.npy has shape {cs:?} for {n} atoms", set.display())));
        }
        let boxes = if periodic {
            let (_, b) = read_npy(&set.join("box.npy"))?;
            if b.len() != nf * 9 {
                return Err(Error::Input(format!("{}: box.npy does not match coord.npy", set.display())));
            }
            b
        } else {
            vec![0.0; nf * 9]
        };
        for k in 0..nf {
            let b = &boxes[9 * k..9 * k + 9];
            frames.push(Frame {
                cell: [[b[0], b[1], b[2]], [b[3], b[4], b[5]], [b[6], b[7], b[8]]],
                pos: coords[3 * n * k..3 * n * (k + 1)].chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
                types: types.clone(),
                periodic,
            });
        }
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_of_a_simple_cubic_crystal() {
        // one atom in a 3 Å cube, rcut 3.5: 6 neighbors at 3 Å, 12 at 4.24 (outside)
        let f = Frame { cell: [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]], pos: vec![[0.5, 0.5, 0.5]], types: vec![0], periodic: true };
        let e = extend(&f, 3.5).unwrap();
        assert_eq!(e.nlist.iter().filter(|&&j| j >= 0).count(), 6);
        assert_eq!(e.owner.len(), 7);
        // a skewed but equivalent cell (b' = b + a) and an unwrapped position give the same
        let mut g = Frame { cell: [[3.0, 0.0, 0.0], [3.0, 3.0, 0.0], [0.0, 0.0, 3.0]], pos: vec![[30.5, -8.5, 0.5]], types: vec![0], periodic: true };
        wrap(&mut g).unwrap();
        assert_eq!(extend(&g, 3.5).unwrap().nlist.iter().filter(|&&j| j >= 0).count(), 6);
    }

    #[test]
    fn npy_roundtrip() {
        let dir = std::env::temp_dir().join(format!("llzo_npy_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }".to_string();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        for v in [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.5] {
            bytes.extend(v.to_le_bytes());
        }
        std::fs::write(dir.join("a.npy"), bytes).unwrap();
        let (shape, v) = read_npy(&dir.join("a.npy")).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// All frames of an extended-XYZ file (ASE's format, as the coverage monitor writes it):
/// `Lattice="ax ay az bx by bz cx cy cz"` (absent: not periodic), `Properties=` with a
/// `species:S:1` and a `pos:R:3` column; species are mapped onto `type_map` by name.
pub fn read_extxyz(path: &Path, type_map: &[String]) -> Result<Vec<Frame>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let bad = |line: usize, what: &str| Error::Input(format!("{}:{}: {what}", path.display(), line + 1));
    let lines: Vec<&str> = text.lines().collect();
    let mut frames = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let n: usize = lines[i].trim().parse().map_err(|_| bad(i, "expected the atom count"))?;
        let comment = *lines.get(i + 1).ok_or_else(|| bad(i, "missing comment line"))?;
        let value = |key: &str| -> Option<String> {
            let start = comment.find(&format!("{key}="))? + key.len() + 1;
            let rest = &comment[start..];
            Some(match rest.strip_prefix('"') {
                Some(q) => q[..q.find('"').unwrap_or(q.len())].to_string(),
                None => rest.split_whitespace().next().unwrap_or("").to_string(),
            })
        };
        let (mut species_col, mut pos_col, mut col) = (None, None, 0usize);
        let props = value("Properties").unwrap_or_else(|| "species:S:1:pos:R:3".into());
        let parts: Vec<&str> = props.split(':').collect();
        for p in parts.chunks(3) {
            let [name, _, count] = p else { return Err(bad(i + 1, "malformed Properties")) };
            match *name {
                "species" => species_col = Some(col),
                "pos" => pos_col = Some(col),
                _ => {}
            }
            col += count.parse::<usize>().map_err(|_| bad(i + 1, "malformed Properties"))?;
        }
        let (Some(sc), Some(pc)) = (species_col, pos_col) else {
            return Err(bad(i + 1, "Properties needs species and pos columns"));
        };
        let (cell, periodic) = match value("Lattice") {
            Some(l) => {
                let v: Vec<f64> = l.split_whitespace().map(|x| x.parse::<f64>()).collect::<std::result::Result<_, _>>().map_err(|_| bad(i + 1, "bad Lattice"))?;
                let [ax, ay, az, bx, by, bz, cx, cy, cz] = v[..] else { return Err(bad(i + 1, "Lattice needs 9 numbers")) };
                let pbc = value("pbc").unwrap_or_else(|| "T T T".into());
                ([[ax, ay, az], [bx, by, bz], [cx, cy, cz]], !pbc.contains('F'))
            }
            None => ([[0.0; 3]; 3], false),
        };
        let mut frame = Frame { cell, pos: Vec::with_capacity(n), types: Vec::with_capacity(n), periodic };
        for k in 0..n {
            let li = i + 2 + k;
            let f: Vec<&str> = lines.get(li).ok_or_else(|| bad(li, "file ends inside a frame"))?.split_whitespace().collect();
            let name = *f.get(sc).ok_or_else(|| bad(li, "missing species"))?;
            let t = type_map.iter().position(|e| e == name).ok_or_else(|| {
                bad(li, &format!("element {name} is not in the type map [{}]", type_map.join(" ")))
            })?;
            let mut p = [0.0; 3];
            for (d, v) in p.iter_mut().enumerate() {
                *v = f.get(pc + d).and_then(|x| x.parse().ok()).ok_or_else(|| bad(li, "bad position"))?;
            }
            frame.types.push(t);
            frame.pos.push(p);
        }
        frames.push(frame);
        i += 2 + n;
    }
    Ok(frames)
}

/// Frames of a deepmd/npy system directory or an extended-XYZ file (`.xyz`, `.extxyz`).
pub fn read_frames(path: &Path, type_map: &[String]) -> Result<Vec<Frame>> {
    if is_extxyz(path) {
        read_extxyz(path, type_map)
    } else {
        read_system(path, type_map)
    }
}

pub fn is_extxyz(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "xyz" || e == "extxyz")
}

#[cfg(test)]
mod extxyz_tests {
    use super::*;

    #[test]
    fn reads_cell_species_and_positions_of_each_frame() {
        let dir = std::env::temp_dir().join(format!("llzo_dp_extxyz_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("two.extxyz");
        let one = "2\nLattice=\"5.0 0.0 0.0 0.5 6.0 0.0 0.0 0.0 7.0\" Properties=species:S:1:pos:R:3:forces:R:3 pbc=\"T T T\"\nO 0.1 0.2 0.3 9 9 9\nLi 1.0 2.0 3.0 9 9 9\n";
        std::fs::write(&p, format!("{one}1\nProperties=id:I:1:species:S:1:pos:R:3\n7 Zr -1.5 0 2\n")).unwrap();
        let tm: Vec<String> = ["Li", "La", "Zr", "O"].iter().map(|s| s.to_string()).collect();
        let f = read_frames(&p, &tm).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].types, vec![3, 0]);
        assert_eq!(f[0].pos[1], [1.0, 2.0, 3.0]);
        assert_eq!(f[0].cell[1], [0.5, 6.0, 0.0]);
        assert!(f[0].periodic && !f[1].periodic);
        assert_eq!((f[1].types[0], f[1].pos[0]), (2, [-1.5, 0.0, 2.0]));
        std::fs::write(&p, "1\nProperties=species:S:1:pos:R:3\nXx 0 0 0\n").unwrap();
        let e = read_frames(&p, &tm).err().unwrap().to_string();
        assert!(e.contains("Xx is not in the type map"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
