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
    /// Periodicity along a, b, c: none for a deepmd/npy system marked `nopbc` or an extxyz
    /// frame without a lattice; LAMMPS's boundary flags for frames it wrote.
    pub pbc: [bool; 3],
}

impl Frame {
    /// Periodic along all three axes (the only periodic case the image search handles).
    pub fn periodic(&self) -> bool {
        self.pbc == [true; 3]
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
