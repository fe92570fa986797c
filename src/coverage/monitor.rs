//! The coverage monitor inside a run: every `coverage_every` steps the local-environment
//! features of this rank's atoms are placed on the reference's PCA grids; the pair style
//! merges the occupancy bitmaps over MPI ranks (bitwise OR, counts summed), and the
//! frame's coverage decides whether it is written out for labeling. A CSV keeps step,
//! coverage per element and whether the frame was dumped; a restarted run appends
//! without repeating steps already there.

use std::path::{Path, PathBuf};

use crate::coverage::{features, Neighborhood, Reference, TestOccupancy};
use crate::frames::{self, Frame};
use crate::error::{Error, Result};
use crate::settings::CoverageSettings;

pub struct Monitor {
    pool: rayon::ThreadPool,
    pub settings: CoverageSettings,
    reference: Reference,
    type_map: Vec<String>,
    features: Vec<f64>,
    occ: TestOccupancy,
    /// Coverage fraction of each model-local atom of this rank at the last evaluation.
    pub atom_coverage: Vec<f64>,
    /// Flat copies of the occupancy for the MPI reductions.
    pub bits: Vec<u64>,
    pub counts: Vec<u64>,
    /// Last frame: overall coverage, then one value per element (NaN when absent).
    pub values: Vec<f64>,
    frames_dumped: usize,
    last_dump: Option<i64>,
    csv_path: PathBuf,
    csv: String,
    /// Steps up to this one are already in the CSV (earlier evaluations or a restarted run).
    csv_last_step: Option<i64>,
}

impl Monitor {
    /// `threads`: the rank's thread budget (the pair style's intra-op threads); the monitor's
    /// parallel loops run in a pool of that size, not in rayon's machine-wide default, so
    /// ranks × threads never oversubscribe the cores.
    pub fn new(settings: CoverageSettings, type_map: &[String], rcut: f64, threads: usize) -> Result<Monitor> {
        let reference = Reference::load(Path::new(&settings.reference))?;
        reference.check_model(type_map, rcut)?;
        let csv_path = Path::new(&settings.dir).join("coverage.csv");
        let header = format!("step,overall,{},dumped\n", type_map.join(","));
        let (csv, csv_last_step, frames_dumped, last_dump) = match std::fs::read_to_string(&csv_path) {
            Ok(text) if text.starts_with(&header) => {
                let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
                let last = rows.iter().filter_map(|r| r.first()?.parse::<i64>().ok()).max();
                let dumped: Vec<i64> = rows
                    .iter()
                    .filter(|r| r.last() == Some(&"1"))
                    .filter_map(|r| r.first()?.parse::<i64>().ok())
                    .collect();
                (text, last, dumped.len(), dumped.iter().max().copied())
            }
            Ok(_) => {
                return Err(Error::Input(format!(
                    "{} exists but has another header (other elements?); move it away or set coverage_dir",
                    csv_path.display()
                )))
            }
            Err(_) => (header, None, 0, None),
        };
        let occ = reference.new_occupancy();
        let n_values = 1 + type_map.len();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map_err(|e| Error::Internal(format!("coverage monitor thread pool: {e}")))?;
        Ok(Monitor {
            pool,
            settings,
            reference,
            type_map: type_map.to_vec(),
            features: Vec::new(),
            occ,
            atom_coverage: Vec::new(),
            bits: Vec::new(),
            counts: Vec::new(),
            values: vec![f64::NAN; n_values],
            frames_dumped,
            last_dump,
            csv_path,
            csv,
            csv_last_step,
        })
    }

    pub fn due(&self, step: i64) -> bool {
        step % self.settings.every as i64 == 0
    }

    /// This rank's part: features of the `nloc` local atoms (model nlist within rcut),
    /// their cells on the grids, and the flat buffers for the reductions.
    pub fn add_local(&mut self, coords: &[f64], types: &[i64], nloc: usize, nlist: &[i64]) -> Result<()> {
        let nb = Neighborhood { coords, types, nloc, nlist };
        let (reference, features, occ, atom_coverage) = (&self.reference, &mut self.features, &mut self.occ, &mut self.atom_coverage);
        self.pool.install(|| -> Result<()> {
            features::compute(&reference.features, &nb, features)?;
            occ.clear();
            atom_coverage.clear();
            atom_coverage.resize(nloc, 0.0);
            reference.add_atoms(features, &types[..nloc], occ, atom_coverage)
        })?;
        self.bits.clear();
        self.counts.clear();
        for o in self.occ.per_element.iter().flatten() {
            self.bits.extend_from_slice(&o.bits);
        }
        self.counts.extend_from_slice(&self.occ.atoms);
        self.counts.extend(self.occ.per_element.iter().flatten().map(|o| o.points));
        Ok(())
    }

    /// After the reductions: the frame's coverage; decides (identically on every rank)
    /// whether the frame is dumped, and on the writing rank appends the CSV row.
    /// Returns (dump, log line).
    pub fn finish(&mut self, step: i64, write_csv: bool) -> Result<(bool, String)> {
        let mut at = 0;
        for o in self.occ.per_element.iter_mut().flatten() {
            let n = o.bits.len();
            let src = self.bits.get(at..at + n).ok_or_else(|| Error::Internal("coverage bitmap size".into()))?;
            o.bits.copy_from_slice(src);
            at += n;
        }
        let ne = self.occ.atoms.len();
        if self.counts.len() < ne {
            return Err(Error::Internal("coverage count size".into()));
        }
        self.occ.atoms.copy_from_slice(&self.counts[..ne]);
        for (o, &p) in self.occ.per_element.iter_mut().flatten().zip(&self.counts[ne..]) {
            o.points = p;
        }
        let c = self.reference.summarize(&self.occ);
        self.values[0] = c.overall.unwrap_or(f64::NAN);
        for (v, e) in self.values[1..].iter_mut().zip(&c.per_element) {
            *v = e.unwrap_or(f64::NAN);
        }
        let s = &self.settings;
        let below = c.overall.is_some_and(|o| o < s.threshold);
        let dump = below
            && self.frames_dumped < s.max_frames
            && self.last_dump.is_none_or(|l| step - l >= s.min_gap as i64)
            && self.csv_last_step.is_none_or(|l| step > l);
        if dump {
            self.frames_dumped += 1;
            self.last_dump = Some(step);
        }
        // a step is recorded once: not again after a restart, nor when a new `run` (or a
        // minimization) evaluates the same timestep a second time
        let new_step = self.csv_last_step.is_none_or(|l| step > l);
        if new_step {
            self.csv_last_step = Some(step);
        }
        if write_csv && new_step {
            let fmt = |v: f64| if v.is_nan() { String::new() } else { format!("{v:.6}") };
            let per: Vec<String> = self.values.iter().map(|&v| fmt(v)).collect();
            self.csv.push_str(&format!("{step},{},{}\n", per.join(","), dump as u8));
            std::fs::create_dir_all(&self.settings.dir).map_err(|e| Error::Io(format!("{}: {e}", self.settings.dir)))?;
            frames::write_whole(&self.csv_path, self.csv.as_bytes())?;
        }
        let msg = if dump {
            format!(
                "llzo_dp coverage: step {step} coverage {:.4} below {} -> frame written to {} ({} of at most {})\n",
                self.values[0], s.threshold, s.dir, self.frames_dumped, s.max_frames
            )
        } else {
            String::new()
        };
        Ok((dump, msg))
    }

    /// Writes a gathered frame (rank 0). `ids` sort the atoms; `types` are model types.
    pub fn write_frame(&self, step: i64, cell: [[f64; 3]; 3], origin: [f64; 3], ids: &[i64], coords: &[f64], types: &[i64]) -> Result<Vec<PathBuf>> {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&k| ids[k]);
        let pos = order.iter().map(|&k| [coords[3 * k], coords[3 * k + 1], coords[3 * k + 2]]).collect();
        let types = order.iter().map(|&k| types[k] as usize).collect();
        let frame = Frame { cell, origin, pos, types, periodic: true };
        frames::write_frame(Path::new(&self.settings.dir), step, &frame, &self.type_map, &self.settings.formats)
    }
}
