//! Files of one row per step that outlive a process: `coverage.csv` and `model_devi.out`.
//! Both follow one rule across runs:
//! - a second `run` in the same process, or a later process that starts after the first
//!   recorded step (a restart from a restart file, or `reset_timestep N`), continues the
//!   file: rows already in it are kept, a step already recorded is not written again, later
//!   steps are appended;
//! - a process whose first recorded step is at or before the file's first step is a new run
//!   over an old record: it is refused with a message naming the keyword to change,
//!   instead of recording nothing (every step "already there") or overwriting the rows.
//!
//! The file is rewritten whole (temp file + rename) after each row.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub struct StepRecord {
    path: PathBuf,
    text: String,
    /// The keyword that names the file, for messages (`coverage_dir`, `out_file`).
    keyword: &'static str,
    /// First and last step found in the file when this process opened it.
    first_in_file: Option<i64>,
    pub last_step: Option<i64>,
    /// Whether this process has recorded (or checked) its first step.
    started: bool,
}

impl StepRecord {
    /// Reads `path` if it exists; it must start with `header` (a file of another layout
    /// is refused). `step_of` reads the step of a data row.
    pub fn open(path: &Path, header: &str, keyword: &'static str, step_of: fn(&str) -> Option<i64>) -> Result<StepRecord> {
        let (text, steps) = match std::fs::read_to_string(path) {
            Ok(text) if text.starts_with(header) => {
                let steps: Vec<i64> = text[header.len()..].lines().filter_map(step_of).collect();
                (text, steps)
            }
            Ok(_) => {
                return Err(Error::Input(format!(
                    "{} exists but has another header (another model, elements or program?); move it away or set {keyword}",
                    path.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (header.to_string(), Vec::new()),
            Err(e) => return Err(Error::Io(format!("{}: {e}", path.display()))),
        };
        Ok(StepRecord {
            path: path.to_path_buf(),
            text,
            keyword,
            first_in_file: steps.iter().min().copied(),
            last_step: steps.iter().max().copied(),
            started: false,
        })
    }

    /// The whole text (header and rows).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether `step` is new for the file (later than every recorded step). The first call
    /// of a process refuses a new run over an old record (see the module comment).
    pub fn accept(&mut self, step: i64) -> Result<bool> {
        if !self.started {
            self.started = true;
            if let (Some(first), Some(last)) = (self.first_in_file, self.last_step) {
                if step <= first {
                    return Err(Error::Input(format!(
                        "{} holds the record of an earlier run (steps {first} to {last}) and this run starts again at \
                         step {step}: a new run, not a restart. Give another {} or move the old one away \
                         (a restart continues the record from a later step)",
                        self.path.display(),
                        self.keyword
                    )));
                }
            }
        }
        let new = self.last_step.is_none_or(|l| step > l);
        if new {
            self.last_step = Some(step);
        }
        Ok(new)
    }

    /// Appends a row (with its newline) and rewrites the file whole.
    pub fn push_row(&mut self, row: &str) -> Result<()> {
        self.text.push_str(row);
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
        }
        crate::frames::write_whole(&self.path, self.text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_field(l: &str) -> Option<i64> {
        l.split(',').next()?.trim().parse().ok()
    }

    #[test]
    fn continues_a_restart_and_refuses_a_new_run() {
        let dir = std::env::temp_dir().join(format!("llzo_dp_record_{}", std::process::id()));
        let path = dir.join("r.csv");
        let mut r = StepRecord::open(&path, "step,x\n", "coverage_dir", first_field).unwrap();
        for s in [0, 5, 10] {
            assert!(r.accept(s).unwrap());
            r.push_row(&format!("{s},1\n")).unwrap();
        }
        assert!(!r.accept(10).unwrap()); // the same step again in this process
        // a restart from step 5: 5 and 10 are kept, 15 appended
        let mut r = StepRecord::open(&path, "step,x\n", "coverage_dir", first_field).unwrap();
        assert!(!r.accept(5).unwrap());
        assert!(!r.accept(10).unwrap());
        assert!(r.accept(15).unwrap());
        r.push_row("15,2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "step,x\n0,1\n5,1\n10,1\n15,2\n");
        // a new process starting at step 0 again is a new run
        let mut r = StepRecord::open(&path, "step,x\n", "coverage_dir", first_field).unwrap();
        let e = r.accept(0).unwrap_err().to_string();
        assert!(e.contains("steps 0 to 15") && e.contains("coverage_dir"), "{e}");
        // another layout is refused
        assert!(StepRecord::open(&path, "step,y\n", "coverage_dir", first_field).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
