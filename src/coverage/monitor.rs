//! The coverage monitor inside a run: every `coverage_every` steps the local-environment
//! features of this rank's atoms are placed on the reference's PCA grids; the pair style
//! merges the occupancy bitmaps over MPI ranks (bitwise OR, counts summed), and the
//! frame's coverage decides whether it is written out for labeling. A CSV keeps step,
//! coverage per element and whether the frame was dumped; a restarted run appends
//! without repeating steps already there, a new run over an old record is refused
//! (`step_record.rs`). A dumped frame's row is written after the frame, so a row with
//! dumped=1 always has its files; temp files and frames without a row (a run killed
//! inside a write) are removed when the next run starts.

use std::path::{Path, PathBuf};

use crate::coverage::{features::Featurizer, Neighborhood, Reference, Scratch, TestOccupancy};
use crate::frames::{self, Frame};
use crate::error::{Error, Result};
use crate::settings::CoverageSettings;
use crate::step_record::StepRecord;

pub struct Monitor {
    pool: std::sync::Arc<rayon::ThreadPool>,
    pub settings: CoverageSettings,
    reference: Reference,
    featurizer: Featurizer,
    type_map: Vec<String>,
    features: Vec<f64>,
    scratch: Scratch,
    occ: TestOccupancy,
    /// Coverage fraction of each model-local atom of this rank at the last evaluation.
    pub atom_coverage: Vec<f64>,
    /// Last frame: overall coverage, then one value per element (NaN when absent).
    pub values: Vec<f64>,
    frames_dumped: usize,
    last_dump: Option<i64>,
    /// coverage.csv: steps up to its last one are recorded (earlier evaluations or runs).
    csv: StepRecord,
    /// Steps whose frame the CSV records as dumped (their files exist).
    dumped_steps: Vec<i64>,
    /// The row of a frame to be dumped: written once the frame's files are in place.
    pending_row: Option<String>,
}

impl Monitor {
    /// `threads`: the rank's thread budget (the pair style's intra-op threads); the monitor's
    /// parallel loops run in the rank's pool of that size (`threads.rs`, shared with the
    /// native evaluator), so ranks × threads never oversubscribe the cores.
    pub fn new(settings: CoverageSettings, type_map: &[String], rcut: f64, threads: usize) -> Result<Monitor> {
        let reference = Reference::load(Path::new(&settings.reference))?;
        reference.check_model(type_map, rcut)?;
        let csv_path = Path::new(&settings.dir).join("coverage.csv");
        let header = format!("step,overall,{},dumped\n", type_map.join(","));
        let csv = StepRecord::open(&csv_path, &header, "coverage_dir", |l| l.split(',').next()?.parse().ok())?;
        let dumped_steps: Vec<i64> = csv
            .text()
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|r| r.last() == Some(&"1"))
            .filter_map(|r| r.first()?.parse::<i64>().ok())
            .collect();
        let (frames_dumped, last_dump) = (dumped_steps.len(), dumped_steps.iter().max().copied());
        let occ = reference.new_occupancy();
        let featurizer = Featurizer::new(&reference.features)?;
        let n_values = 1 + type_map.len();
        let pool = crate::threads::pool(threads)?;
        Ok(Monitor {
            pool,
            settings,
            reference,
            featurizer,
            type_map: type_map.to_vec(),
            features: Vec::new(),
            scratch: Scratch::default(),
            occ,
            atom_coverage: Vec::new(),
            values: vec![f64::NAN; n_values],
            frames_dumped,
            last_dump,
            csv,
            dumped_steps,
            pending_row: None,
        })
    }

    /// Refuses a reference built for another model file (see `Reference::check_model_file`).
    pub fn check_model_file(&self, model: &str) -> Result<()> {
        self.reference.check_model_file(Path::new(model))
    }

    /// One line for the log: the reference and its checksums.
    pub fn describe(&self) -> String {
        let r = &self.reference;
        format!(
            "llzo_dp coverage: reference {} (content SHA-256 {}, built for model {})\n",
            self.settings.reference,
            r.checksum.as_deref().unwrap_or("-"),
            r.model_sha256.as_deref().map_or("of any file with this type map and cutoff".to_string(), |h| format!("SHA-256 {h}"))
        )
    }

    pub fn due(&self, step: i64) -> bool {
        step % self.settings.every as i64 == 0
    }

    /// This rank's part: features of the `nloc` local atoms (model nlist within rcut),
    /// their cells on the grids (the occupancy the pair style then reduces over the ranks).
    pub fn add_local(&mut self, coords: &[f64], types: &[i64], nloc: usize, nlist: &[i64]) -> Result<()> {
        let nb = Neighborhood { coords, types, nloc, nlist };
        let (reference, featurizer, features) = (&self.reference, &self.featurizer, &mut self.features);
        let (occ, atom_coverage) = (&mut self.occ, &mut self.atom_coverage);
        let scratch = &mut self.scratch;
        self.pool.install(|| -> Result<()> {
            featurizer.compute(&nb, features)?;
            reference.clear_occupancy(occ);
            atom_coverage.clear();
            atom_coverage.resize(nloc, 0.0);
            reference.add_atoms_with(features, &types[..nloc], occ, atom_coverage, scratch)
        })?;
        Ok(())
    }

    /// This rank's grid bitmaps, to be OR-reduced over the ranks in place.
    pub fn bits_mut(&mut self) -> &mut [u64] {
        &mut self.occ.bits
    }

    /// This rank's atom counts per element, to be sum-reduced over the ranks in place.
    pub fn counts_mut(&mut self) -> &mut [u64] {
        &mut self.occ.atoms
    }

    /// After the reductions of `bits_mut` and `counts_mut`: the frame's coverage; decides (identically on every rank)
    /// whether the frame is dumped, and on the writing rank appends the CSV row.
    /// Returns (dump, log line).
    pub fn finish(&mut self, step: i64, write_csv: bool) -> Result<(bool, String)> {
        let c = self.reference.summarize(&self.occ);
        self.values[0] = c.overall.unwrap_or(f64::NAN);
        for (v, e) in self.values[1..].iter_mut().zip(&c.per_element) {
            *v = e.unwrap_or(f64::NAN);
        }
        let s = &self.settings;
        let below = c.overall.is_some_and(|o| o < s.threshold);
        // a step is recorded once: not again after a restart, nor when a new `run` (or a
        // minimization) evaluates the same timestep a second time
        let new_step = self.csv.accept(step)?;
        let dump = below
            && self.frames_dumped < s.max_frames
            && self.last_dump.is_none_or(|l| step - l >= s.min_gap as i64)
            && new_step;
        if dump {
            self.frames_dumped += 1;
            self.last_dump = Some(step);
        }
        if write_csv && new_step {
            let fmt = |v: f64| if v.is_nan() { String::new() } else { format!("{v:.6}") };
            let per: Vec<String> = self.values.iter().map(|&v| fmt(v)).collect();
            let row = format!("{step},{},{}\n", per.join(","), dump as u8);
            // a dumped frame's row waits for its files (`write_frame`)
            if dump {
                self.pending_row = Some(row);
            } else {
                self.csv.push_row(&row)?;
            }
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

    /// Writes a gathered frame (rank 0), then its CSV row. `ids` sort the atoms; `types`
    /// are model types; `pbc` the periodicity of a, b, c.
    #[allow(clippy::too_many_arguments)]
    pub fn write_frame(&mut self, step: i64, cell: [[f64; 3]; 3], origin: [f64; 3], pbc: [bool; 3], ids: &[i64], coords: &[f64], types: &[i64]) -> Result<Vec<PathBuf>> {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&k| ids[k]);
        let pos = order.iter().map(|&k| [coords[3 * k], coords[3 * k + 1], coords[3 * k + 2]]).collect();
        let types = order.iter().map(|&k| types[k] as usize).collect();
        let frame = Frame { cell, origin, pos, types, pbc };
        let written = frames::write_frame(Path::new(&self.settings.dir), step, &frame, &self.type_map, &self.settings.formats)?;
        if let Some(row) = self.pending_row.take() {
            self.csv.push_row(&row)?;
            self.dumped_steps.push(step);
        }
        Ok(written)
    }

    /// Refuses frame formats that cannot hold the box's periodicity: deepmd/npy knows a
    /// fully periodic system or one without periodicity (`nopbc`), nothing in between.
    pub fn check_boundary(&self, pbc: [bool; 3]) -> Result<()> {
        let mixed = pbc.iter().any(|&p| p) && !pbc.iter().all(|&p| p);
        if mixed && self.settings.formats.contains(&frames::Format::DeepmdNpy) {
            let b: Vec<&str> = pbc.iter().map(|&p| if p { "p" } else { "f/s/m" }).collect();
            return Err(Error::Input(format!(
                "coverage_formats npy cannot describe the boundary '{}' (deepmd/npy systems are periodic along all \
                 three axes or along none): set coverage_formats to extxyz,data, which keep the per-axis periodicity",
                b.join(" ")
            )));
        }
        Ok(())
    }

    /// Before the first step of a process (rank 0): removes temp files of writes that a
    /// killed run left, and frames that have no dumped row in the CSV (their row comes
    /// after them, so these are half-recorded: the restarted run writes them again).
    /// Returns a line for the log (empty when nothing was removed).
    pub fn remove_leftovers(&self) -> Result<String> {
        frames::leftovers::remove(Path::new(&self.settings.dir), &self.dumped_steps)
    }
}
