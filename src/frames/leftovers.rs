//! What a run killed inside a write leaves in the coverage directory, removed before the
//! next run records anything: temp files and directories (`.NAME.tmp…`, see
//! `write_whole` and `deepmd::write_system`) and frames (`step_NNNNNNNNN.*`) whose
//! step the CSV does not record as dumped. The CSV row of a frame is written after all of
//! its files, so such a frame may lack formats; the restarted run writes it again whole.

use std::path::Path;

use crate::error::{Error, Result};

/// Step of a frame file or directory name `step_NNNNNNNNN.ext`.
fn frame_step(name: &str) -> Option<i64> {
    let (stem, ext) = name.strip_prefix("step_")?.split_once('.')?;
    ["npy", "xyz", "data"].contains(&ext).then(|| stem.parse().ok()).flatten()
}

fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp")
}

/// Removes leftovers under `dir` (absent: nothing to do); `dumped` are the steps the CSV
/// records as dumped. Returns a log line naming what was removed, or an empty string.
pub fn remove(dir: &Path, dumped: &[i64]) -> Result<String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(Error::Io(format!("{}: {e}", dir.display()))),
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        // a frame is a deepmd/npy directory or an extxyz / data file; anything else of that
        // name is not ours to remove
        let frame_kind = path.is_dir() == name.ends_with(".npy");
        let stale = is_temp(&name) || (frame_kind && frame_step(&name).is_some_and(|s| !dumped.contains(&s)));
        if !stale {
            continue;
        }
        let gone = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        gone.map_err(|e| Error::Io(format!("removing the leftover {}: {e}", path.display())))?;
        removed.push(name);
    }
    if removed.is_empty() {
        return Ok(String::new());
    }
    removed.sort();
    Ok(format!(
        "llzo_dp coverage: removed {} leftover(s) of an interrupted write in {} (not recorded in coverage.csv): {}\n",
        removed.len(),
        dir.display(),
        removed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_temps_and_unrecorded_frames_only() {
        let dir = std::env::temp_dir().join(format!("llzo_dp_leftovers_{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".step_000000020.npy.tmp/set.000")).unwrap();
        for f in ["step_000000010.xyz", "step_000000010.data", "step_000000020.xyz", ".coverage.csv.tmp77", "coverage.csv", "notes.txt"] {
            std::fs::write(dir.join(f), "x").unwrap();
        }
        std::fs::create_dir_all(dir.join("step_000000010.npy")).unwrap();
        std::fs::create_dir_all(dir.join("step_000000030.xyz")).unwrap(); // not a frame file
        let line = remove(&dir, &[10]).unwrap();
        assert!(line.contains("3 leftover"), "{line}");
        let mut left: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, ["coverage.csv", "notes.txt", "step_000000010.data", "step_000000010.npy", "step_000000010.xyz", "step_000000030.xyz"]);
        assert_eq!(remove(&dir, &[10]).unwrap(), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
