//! Writers for whole frames picked by the coverage monitor, ready for labeling:
//! deepmd/npy (a one-frame system), extxyz and a LAMMPS data file. Each file is written
//! to a temporary name and renamed, so a crash never leaves half a frame behind.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One frame gathered from all ranks, sorted by atom ID.
pub struct Frame<'a> {
    pub step: i64,
    /// Cell rows a, b, c (Å), LAMMPS restricted triclinic.
    pub cell: [[f64; 3]; 3],
    /// Box origin (Å).
    pub origin: [f64; 3],
    /// Periodicity along a, b, c (a mixed box cannot go to deepmd/npy: `Monitor::check_boundary`).
    pub pbc: [bool; 3],
    /// `[n*3]` positions (Å).
    pub coords: &'a [f64],
    /// Model type (0-based index into `type_map`) per atom.
    pub types: &'a [i64],
    pub type_map: &'a [String],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    DeepmdNpy,
    Extxyz,
    LammpsData,
}

impl Format {
    pub fn parse_list(list: &str) -> Result<Vec<Format>> {
        list.split(',')
            .map(|f| match f {
                "npy" | "deepmd" => Ok(Format::DeepmdNpy),
                "extxyz" | "xyz" => Ok(Format::Extxyz),
                "data" | "lammps" => Ok(Format::LammpsData),
                other => Err(Error::Input(format!(
                    "pair_style llzo_dp: unknown frame format '{other}'; use a comma-separated list of npy, extxyz, data"
                ))),
            })
            .collect()
    }
}

/// Writes a file whole: a temporary file beside it, then a rename, so a reader (or a
/// crash) never sees half a file. Every file the plugin and its tools write goes through here.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    fault_point(&tmp, bytes);
    std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io(format!("{}: {e}", path.display()))
    })
}

/// Fault injection for the crash tests: with `LLZO_DP_ABORT_AT_WRITE=N` in the
/// environment, the N-th whole-file write of the process writes half of its temp file
/// and then kills the process (SIGABRT), as a `kill -9` or a full disk inside a write would.
fn fault_point(tmp: &Path, bytes: &[u8]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let Some(n) = std::env::var("LLZO_DP_ABORT_AT_WRITE").ok().and_then(|v| v.parse::<u64>().ok()) else { return };
    if WRITES.fetch_add(1, Ordering::SeqCst) + 1 == n {
        let _ = std::fs::write(tmp, &bytes[..bytes.len() / 2]);
        std::process::abort();
    }
}

/// A `.npy` file (format 1.0, little-endian) of float64 or int32 data.
fn npy_bytes(shape: &[usize], descr: &str, data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_txt = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    // magic(6) + version(2) + len(2) + header + '\n' must be a multiple of 64
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes the frame in every requested format under `dir`; returns the paths written.
pub fn write_frame(dir: &Path, frame: &Frame, formats: &[Format]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let n = frame.types.len();
    let name = format!("step_{:09}", frame.step);
    let mut written = Vec::new();
    for f in formats {
        match f {
            Format::DeepmdNpy => {
                // the system directory appears only when complete (built under a temp name)
                let sys = dir.join(format!("{name}.npy"));
                if sys.exists() {
                    continue; // a restarted run reaching the same step again
                }
                let tmp = dir.join(format!(".{name}.npy.tmp"));
                let set = tmp.join("set.000");
                std::fs::create_dir_all(&set).map_err(|e| Error::Io(format!("{}: {e}", set.display())))?;
                let types: String = frame.types.iter().map(|t| format!("{t}\n")).collect();
                write_whole(&tmp.join("type.raw"), types.as_bytes())?;
                write_whole(&tmp.join("type_map.raw"), (frame.type_map.join("\n") + "\n").as_bytes())?;
                if frame.pbc == [false; 3] {
                    write_whole(&tmp.join("nopbc"), b"")?; // deepmd/npy's mark of a non-periodic system
                } else if frame.pbc != [true; 3] {
                    return Err(Error::Input("deepmd/npy cannot hold a box periodic along some axes only".into()));
                }
                let cell: Vec<f64> = frame.cell.iter().flatten().copied().collect();
                write_whole(&set.join("box.npy"), &npy_bytes(&[1, 9], "<f8", &f64_bytes(&cell)))?;
                write_whole(&set.join("coord.npy"), &npy_bytes(&[1, 3 * n], "<f8", &f64_bytes(frame.coords)))?;
                std::fs::rename(&tmp, &sys).map_err(|e| Error::Io(format!("{}: {e}", sys.display())))?;
                written.push(sys);
            }
            Format::Extxyz => {
                let path = dir.join(format!("{name}.xyz"));
                let c = frame.cell;
                let pbc: Vec<&str> = frame.pbc.iter().map(|&p| if p { "T" } else { "F" }).collect();
                let mut s = format!(
                    "{n}\nLattice=\"{} {} {} {} {} {} {} {} {}\" Properties=species:S:1:pos:R:3 pbc=\"{}\" step={}\n",
                    c[0][0], c[0][1], c[0][2], c[1][0], c[1][1], c[1][2], c[2][0], c[2][1], c[2][2], pbc.join(" "), frame.step
                );
                for (t, x) in frame.types.iter().zip(frame.coords.chunks(3)) {
                    let _ = writeln!(s, "{} {:.10} {:.10} {:.10}", frame.type_map[*t as usize], x[0], x[1], x[2]);
                }
                write_whole(&path, s.as_bytes())?;
                written.push(path);
            }
            Format::LammpsData => {
                let path = dir.join(format!("{name}.data"));
                let (c, o) = (frame.cell, frame.origin);
                let mut s = format!(
                    "# step {} written by llzo_dp's coverage monitor (types: {})\n\n{n} atoms\n{} atom types\n\n\
                     {} {} xlo xhi\n{} {} ylo yhi\n{} {} zlo zhi\n{} {} {} xy xz yz\n\nAtoms # atomic\n\n",
                    frame.step,
                    frame.type_map.join(" "),
                    frame.type_map.len(),
                    o[0], o[0] + c[0][0], o[1], o[1] + c[1][1], o[2], o[2] + c[2][2], c[1][0], c[2][0], c[2][1]
                );
                for (k, (t, x)) in frame.types.iter().zip(frame.coords.chunks(3)).enumerate() {
                    let _ = writeln!(s, "{} {} {:.10} {:.10} {:.10}", k + 1, t + 1, x[0], x[1], x[2]);
                }
                write_whole(&path, s.as_bytes())?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_readable() {
        let b = npy_bytes(&[1, 9], "<f8", &f64_bytes(&[1.0; 9]));
        assert_eq!(&b[..6], b"\x93NUMPY");
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0);
        assert_eq!(b.len(), 10 + hl + 72);
        let dir = std::env::temp_dir().join(format!("llzo_dp_dump_{}", std::process::id()));
        let tm = vec!["Li".to_string(), "O".to_string()];
        let f = Frame { step: 7, cell: [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]], origin: [0.0; 3], pbc: [true; 3],
                        coords: &[0.0, 0.0, 0.0, 1.5, 1.5, 1.5], types: &[0, 1], type_map: &tm };
        let w = write_frame(&dir, &f, &[Format::DeepmdNpy, Format::Extxyz, Format::LammpsData]).unwrap();
        assert_eq!(w.len(), 3);
        let (shape, data) = crate::coverage::frames::read_npy(&w[0].join("set.000/coord.npy")).unwrap();
        assert_eq!((shape, data), (vec![1, 6], vec![0.0, 0.0, 0.0, 1.5, 1.5, 1.5]));
        assert!(std::fs::read_to_string(&w[1]).unwrap().contains("O 1.5000000000"));
        // a second write of the same step leaves the existing system alone
        assert!(write_frame(&dir, &f, &[Format::DeepmdNpy]).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn formats_parse_and_reject_unknown() {
        assert_eq!(Format::parse_list("npy,extxyz,data").unwrap().len(), 3);
        assert!(Format::parse_list("npy,pdb").unwrap_err().to_string().contains("'pdb'"));
    }
}
