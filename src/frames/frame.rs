//! The one frame type, and how every file is written: whole.

use std::path::Path;

use crate::error::{Error, Result};

/// One frame: cell, atoms and their model types.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Cell rows a, b, c (Å); LAMMPS's restricted triclinic for frames it wrote.
    pub cell: [[f64; 3]; 3],
    /// Box origin (Å); zero for frames read from files.
    pub origin: [f64; 3],
    pub pos: Vec<[f64; 3]>,
    /// Model type (0-based index into the type map) of each atom.
    pub types: Vec<usize>,
    /// False for a deepmd/npy system marked `nopbc` or an extxyz frame without a lattice.
    pub periodic: bool,
}

/// Writes a file whole: a temporary file beside it, then a rename, so a reader (or a
/// crash) never sees half a file. Every file the plugin and its tools write goes through here.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io(format!("{}: {e}", path.display()))
    })
}

