//! Frames outside LAMMPS's memory, read and written whole: deepmd/npy systems
//! (`deepmd.rs`, arrays in `npy.rs`), extended XYZ (`extxyz.rs`), LAMMPS data files
//! (`lammps_data.rs`), and periodic images of a frame (`images.rs`). Every file goes
//! through `write_whole` (a temporary file, then a rename).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub mod deepmd;
pub mod extxyz;
mod frame;
pub mod images;
pub mod lammps_data;
pub mod leftovers;
pub mod npy;

pub use frame::{write_whole, Frame};

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

/// Frames of a deepmd/npy system directory or an extended-XYZ file (`.xyz`, `.extxyz`).
pub fn read_frames(path: &Path, type_map: &[String]) -> Result<Vec<Frame>> {
    if is_extxyz(path) {
        extxyz::read(path, type_map)
    } else {
        deepmd::read_system(path, type_map)
    }
}

pub fn is_extxyz(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "xyz" || e == "extxyz")
}

/// Writes the frame of `step` in every requested format under `dir`; returns the paths
/// written. A deepmd/npy system already there (a restarted run reaching the same step
/// again) is left alone.
pub fn write_frame(dir: &Path, step: i64, frame: &Frame, type_map: &[String], formats: &[Format]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let name = format!("step_{step:09}");
    let mut written = Vec::new();
    for f in formats {
        let path = match f {
            Format::DeepmdNpy => {
                let sys = dir.join(format!("{name}.npy"));
                if sys.exists() {
                    continue;
                }
                deepmd::write_system(&sys, frame, type_map)?;
                sys
            }
            Format::Extxyz => {
                let path = dir.join(format!("{name}.xyz"));
                write_whole(&path, extxyz::to_text(frame, step, type_map).as_bytes())?;
                path
            }
            Format::LammpsData => {
                let path = dir.join(format!("{name}.data"));
                write_whole(&path, lammps_data::to_text(frame, step, type_map).as_bytes())?;
                path
            }
        };
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_readable() {
        let b = npy::npy_bytes(&[1, 9], "<f8", &npy::f64_bytes(&[1.0; 9]));
        assert_eq!(&b[..6], b"\x93NUMPY");
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0);
        assert_eq!(b.len(), 10 + hl + 72);
        let dir = std::env::temp_dir().join(format!("llzo_dp_dump_{}", std::process::id()));
        let tm = vec!["Li".to_string(), "O".to_string()];
        let f = Frame { cell: [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]], origin: [0.0; 3],
                        pos: vec![[0.0, 0.0, 0.0], [1.5, 1.5, 1.5]], types: vec![0, 1], pbc: [true; 3] };
        let w = write_frame(&dir, 7, &f, &tm, &[Format::DeepmdNpy, Format::Extxyz, Format::LammpsData]).unwrap();
        assert_eq!(w.len(), 3);
        let (shape, data) = npy::read_npy(&w[0].join("set.000/coord.npy")).unwrap();
        assert_eq!((shape, data), (vec![1, 6], vec![0.0, 0.0, 0.0, 1.5, 1.5, 1.5]));
        assert!(std::fs::read_to_string(&w[1]).unwrap().contains("O 1.5000000000"));
        // a second write of the same step leaves the existing system alone
        assert!(write_frame(&dir, 7, &f, &tm, &[Format::DeepmdNpy]).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn formats_parse_and_reject_unknown() {
        assert_eq!(Format::parse_list("npy,extxyz,data").unwrap().len(), 3);
        assert!(Format::parse_list("npy,pdb").unwrap_err().to_string().contains("'pdb'"));
    }
}

#[cfg(test)]
mod read_tests {
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
        assert!(f[0].periodic() && f[1].pbc == [false; 3]);
        assert_eq!((f[1].types[0], f[1].pos[0]), (2, [-1.5, 0.0, 2.0]));
        std::fs::write(&p, "1\nProperties=species:S:1:pos:R:3\nXx 0 0 0\n").unwrap();
        let e = read_frames(&p, &tm).err().unwrap().to_string();
        assert!(e.contains("Xx is not in the type map"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
