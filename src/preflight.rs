//! Checks of the run's surroundings made once, when `pair_style` is read: a thread count
//! the machine can hold, and output places (`out_file`, `coverage_dir`) that can be
//! written. Found here, the problem is an ERROR naming the keyword before the first step,
//! not an I/O failure deep into a run.

use std::path::Path;

use crate::error::{Error, Result};
use crate::settings::PairSettings;

/// The thread count to use and, when it had to be lowered, a warning for the log.
/// `asked`: the `threads` keyword (0 = not given); `lammps_threads`: LAMMPS's OpenMP count.
pub fn effective_threads(asked: usize, lammps_threads: usize) -> (usize, Option<String>) {
    let hardware = std::thread::available_parallelism().map_or(1, |n| n.get());
    cap_threads(asked, lammps_threads, hardware)
}

/// More threads than hardware threads only slow a rank down, and thousands of them take
/// minutes to start (or exhaust the process's limits); the count is capped at `hardware`.
pub fn cap_threads(asked: usize, lammps_threads: usize, hardware: usize) -> (usize, Option<String>) {
    let (wanted, source) = match asked {
        0 => (lammps_threads.max(1), "LAMMPS's OpenMP thread count (OMP_NUM_THREADS / package omp)"),
        n => (n, "'threads'"),
    };
    let hardware = hardware.max(1);
    if wanted <= hardware {
        return (wanted, None);
    }
    let warning = format!(
        "WARNING: pair_style llzo_dp: {source} asks for {wanted} threads but this machine has \
         {hardware} hardware threads; using {hardware} (give 'threads N' with N <= {hardware} \
         to silence this)\n"
    );
    (hardware, Some(warning))
}

/// `out_file` (written when there are several models) and `coverage_dir` (with the
/// monitor) must be writable places; the error names the keyword.
pub fn check_outputs(s: &PairSettings) -> Result<()> {
    if s.models.len() > 1 {
        check_file_place("out_file", &s.out_file)?;
    }
    if let Some(c) = &s.coverage {
        check_dir_place("coverage_dir", &c.dir)?;
    }
    Ok(())
}

fn refuse(keyword: &str, value: &str, why: &str) -> Error {
    Error::Io(format!(
        "pair_style llzo_dp: {keyword} '{value}' cannot be written: {why}; give '{keyword}' a writable path"
    ))
}

/// A file that is (re)written by temp file + rename: its folder must take new files.
fn check_file_place(keyword: &str, value: &str) -> Result<()> {
    let path = Path::new(value);
    if path.is_dir() {
        return Err(refuse(keyword, value, "it is a directory"));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(refuse(keyword, value, &format!("'{}' is not an existing directory", parent.display())));
    }
    probe_writable(parent).map_err(|e| refuse(keyword, value, &e))
}

/// A folder created on first use: it, or the nearest existing folder above it, must
/// take new files; no part of its path may be a file.
fn check_dir_place(keyword: &str, value: &str) -> Result<()> {
    let mut probe = Path::new(value);
    loop {
        if probe.is_dir() {
            return probe_writable(probe).map_err(|e| refuse(keyword, value, &e));
        }
        if probe.exists() {
            return Err(refuse(keyword, value, &format!("'{}' is a file, not a directory", probe.display())));
        }
        probe = match probe.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
    }
}

/// Creates and removes an empty file in `dir` (permission bits alone do not tell: root,
/// read-only mounts, ACLs).
fn probe_writable(dir: &Path) -> std::result::Result<(), String> {
    let probe = dir.join(format!(".llzo_dp_write_probe.{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!("cannot create files in '{}' ({e})", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_capped_at_the_hardware() {
        assert_eq!(cap_threads(4, 1, 8), (4, None));
        assert_eq!(cap_threads(0, 3, 8), (3, None));
        assert_eq!(cap_threads(0, 0, 8), (1, None));
        let (n, w) = cap_threads(100000, 1, 8);
        assert_eq!(n, 8);
        assert!(w.unwrap().contains("'threads' asks for 100000 threads but this machine has 8"));
        let (n, w) = cap_threads(0, 64, 2);
        assert_eq!(n, 2);
        assert!(w.unwrap().contains("OMP_NUM_THREADS"));
    }

    #[test]
    fn output_places_name_the_keyword() {
        let dir = std::env::temp_dir().join(format!("llzo_dp_preflight_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a_file");
        std::fs::write(&file, "x").unwrap();
        let f = file.display().to_string();
        let d = dir.display().to_string();
        assert!(check_file_place("out_file", &format!("{d}/md.out")).is_ok());
        assert!(check_dir_place("coverage_dir", &format!("{d}/new/deeper")).is_ok());
        for (r, want) in [
            (check_file_place("out_file", &d), "out_file '"),
            (check_file_place("out_file", &format!("{f}/md.out")), "is not an existing directory"),
            (check_dir_place("coverage_dir", &f), "is a file, not a directory"),
            (check_dir_place("coverage_dir", &format!("{f}/sub")), "give 'coverage_dir' a writable path"),
        ] {
            let e = r.unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
