//! LAMMPS data files (atom_style atomic, restricted triclinic box).

use std::fmt::Write as _;

use super::frame::Frame;
use crate::error::{Error, Result};

/// A LAMMPS data file (atom_style atomic): cell, and positions relative to the box
/// origin sorted by atom ID; LAMMPS type t becomes model type t - 1.
pub fn read(path: &str) -> Result<Frame> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{path}: {e}")))?;
    let mut lo = [0.0; 3];
    let mut len = [0.0; 3];
    let (mut xy, mut xz, mut yz) = (0.0, 0.0, 0.0);
    let mut natoms = 0usize;
    let mut lines = text.lines();
    let num = |s: &str| s.parse::<f64>().map_err(|_| Error::Input(format!("{path}: bad number '{s}'")));
    while let Some(line) = lines.next() {
        let w: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
        match w.as_slice() {
            [n, "atoms"] => natoms = n.parse().map_err(|_| Error::Input(format!("{path}: bad atom count")))?,
            [a, b, axis, _] if axis.ends_with("lo") => {
                let k = match *axis { "xlo" => 0, "ylo" => 1, _ => 2 };
                lo[k] = num(a)?;
                len[k] = num(b)? - lo[k];
            }
            [a, b, c, "xy", "xz", "yz"] => (xy, xz, yz) = (num(a)?, num(b)?, num(c)?),
            ["Atoms", ..] => break,
            _ => {}
        }
    }
    let mut rows: Vec<(usize, usize, [f64; 3])> = Vec::with_capacity(natoms);
    for line in lines {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 5 {
            if rows.is_empty() { continue } else { break }
        }
        let id = w[0].parse().map_err(|_| Error::Input(format!("{path}: bad atom id '{}'", w[0])))?;
        let t = w[1].parse().map_err(|_| Error::Input(format!("{path}: bad type '{}'", w[1])))?;
        rows.push((id, t, [num(w[2])? - lo[0], num(w[3])? - lo[1], num(w[4])? - lo[2]]));
    }
    if rows.len() != natoms {
        return Err(Error::Input(format!("{path}: {} atom lines for {natoms} atoms", rows.len())));
    }
    rows.sort_by_key(|r| r.0);
    if let Some(r) = rows.iter().find(|r| r.1 == 0) {
        return Err(Error::Input(format!("{path}: atom {} has type 0", r.0)));
    }
    Ok(Frame {
        origin: [0.0; 3],
        cell: [[len[0], 0.0, 0.0], [xy, len[1], 0.0], [xz, yz, len[2]]],
        pos: rows.iter().map(|r| r.2).collect(),
        types: rows.iter().map(|r| r.1 - 1).collect(),
        pbc: [true; 3],
    })
}

/// One frame as a data file; `step` and the type names go into the title line.
pub fn to_text(frame: &Frame, step: i64, type_map: &[String]) -> String {
    let (c, o) = (frame.cell, frame.origin);
    let mut s = format!(
        "# step {} written by llzo_dp's coverage monitor (types: {})\n\n{} atoms\n{} atom types\n\n\
         {} {} xlo xhi\n{} {} ylo yhi\n{} {} zlo zhi\n{} {} {} xy xz yz\n\nAtoms # atomic\n\n",
        step,
        type_map.join(" "),
        frame.pos.len(),
        type_map.len(),
        o[0], o[0] + c[0][0], o[1], o[1] + c[1][1], o[2], o[2] + c[2][2], c[1][0], c[2][0], c[2][1]
    );
    for (k, (t, x)) in frame.types.iter().zip(&frame.pos).enumerate() {
        let _ = writeln!(s, "{} {} {:.10} {:.10} {:.10}", k + 1, t + 1, x[0], x[1], x[2]);
    }
    s
}
