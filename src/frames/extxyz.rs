//! Extended XYZ (ASE's format): read with any `Properties` holding species and positions,
//! written with `Lattice`, species and positions.

use std::fmt::Write as _;
use std::path::Path;

use super::frame::Frame;
use crate::error::{Error, Result};

/// All frames of an extended-XYZ file (ASE's format, as the coverage monitor writes it):
/// `Lattice="ax ay az bx by bz cx cy cz"` (absent: not periodic), `Properties=` with a
/// `species:S:1` and a `pos:R:3` column; species are mapped onto `type_map` by name.
pub fn read(path: &Path, type_map: &[String]) -> Result<Vec<Frame>> {
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
        let (cell, pbc) = match value("Lattice") {
            Some(l) => {
                let v: Vec<f64> = l.split_whitespace().map(|x| x.parse::<f64>()).collect::<std::result::Result<_, _>>().map_err(|_| bad(i + 1, "bad Lattice"))?;
                let [ax, ay, az, bx, by, bz, cx, cy, cz] = v[..] else { return Err(bad(i + 1, "Lattice needs 9 numbers")) };
                let pbc = value("pbc").unwrap_or_else(|| "T T T".into());
                let flags: Vec<bool> = pbc.split_whitespace().map(|f| !f.starts_with(['F', 'f'])).collect();
                let pbc = match flags[..] {
                    [a, b, c] => [a, b, c],
                    [p] => [p; 3],
                    _ => return Err(bad(i + 1, "pbc needs 1 or 3 flags")),
                };
                ([[ax, ay, az], [bx, by, bz], [cx, cy, cz]], pbc)
            }
            None => ([[0.0; 3]; 3], [false; 3]),
        };
        let mut frame = Frame { origin: [0.0; 3], cell, pos: Vec::with_capacity(n), types: Vec::with_capacity(n), pbc };
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

/// One frame as extended XYZ text; `step` goes into the comment line.
pub fn to_text(frame: &Frame, step: i64, type_map: &[String]) -> String {
    let c = frame.cell;
    let pbc: Vec<&str> = frame.pbc.iter().map(|&p| if p { "T" } else { "F" }).collect();
    let mut s = format!(
        "{}\nLattice=\"{} {} {} {} {} {} {} {} {}\" Properties=species:S:1:pos:R:3 pbc=\"{}\" step={}\n",
        frame.pos.len(), c[0][0], c[0][1], c[0][2], c[1][0], c[1][1], c[1][2], c[2][0], c[2][1], c[2][2], pbc.join(" "), step
    );
    for (t, x) in frame.types.iter().zip(&frame.pos) {
        let _ = writeln!(s, "{} {:.10} {:.10} {:.10}", type_map[*t], x[0], x[1], x[2]);
    }
    s
}
