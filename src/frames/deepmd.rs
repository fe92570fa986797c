//! deepmd/npy systems: a directory with `type.raw` (and `type_map.raw`) and `set.*/`
//! folders of `coord.npy` and `box.npy`, one row per frame.

use std::path::{Path, PathBuf};

use super::npy::{f64_bytes, npy_bytes, read_npy};
use super::frame::{write_whole, Frame};
use crate::error::{Error, Result};

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
                origin: [0.0; 3],
                cell: [[b[0], b[1], b[2]], [b[3], b[4], b[5]], [b[6], b[7], b[8]]],
                pos: coords[3 * n * k..3 * n * (k + 1)].chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
                types: types.clone(),
                pbc: [periodic; 3],
            });
        }
    }
    Ok(frames)
}

/// Writes `frame` as the one-frame system `sys`; the directory appears only when complete
/// (built under a temporary name, then renamed).
pub fn write_system(sys: &Path, frame: &Frame, type_map: &[String]) -> Result<()> {
    let name = sys.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = sys.with_file_name(format!(".{name}.tmp"));
    let set = tmp.join("set.000");
    std::fs::create_dir_all(&set).map_err(|e| Error::Io(format!("{}: {e}", set.display())))?;
    let types: String = frame.types.iter().map(|t| format!("{t}\n")).collect();
    write_whole(&tmp.join("type.raw"), types.as_bytes())?;
    write_whole(&tmp.join("type_map.raw"), (type_map.join("\n") + "\n").as_bytes())?;
    if frame.pbc == [false; 3] {
        write_whole(&tmp.join("nopbc"), b"")?; // deepmd/npy's mark of a non-periodic system
    } else if !frame.periodic() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::Input("deepmd/npy cannot hold a box periodic along some axes only".into()));
    }
    let cell: Vec<f64> = frame.cell.iter().flatten().copied().collect();
    let coords: Vec<f64> = frame.pos.iter().flatten().copied().collect();
    write_whole(&set.join("box.npy"), &npy_bytes(&[1, 9], "<f8", &f64_bytes(&cell)))?;
    write_whole(&set.join("coord.npy"), &npy_bytes(&[1, coords.len()], "<f8", &f64_bytes(&coords)))?;
    std::fs::rename(&tmp, sys).map_err(|e| Error::Io(format!("{}: {e}", sys.display())))
}
