//! The core behind the pair style: one model, the LAMMPS→model atom mapping, and the
//! per-step recipe gather → evaluate → scatter with buffers reused between steps.

use std::time::Instant;

use tch::{Device, Tensor};

use crate::error::{Error, Result};
use crate::deviation::Deviation;
use crate::model::{resolve_device, Evaluation, Model, StepInput};
use crate::monitor::Monitor;
use crate::neighbors::{ExtendedAtoms, LammpsList};
use crate::settings::{describe_type_map, map_types, PairSettings};
use crate::step_checks;
use crate::timing::{lap, Timing};
use crate::units::Units;

/// Energy and global virial of one step on this rank, in LAMMPS units.
/// Virial order: xx, yy, zz, xy, xz, yz.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepTotals {
    pub energy: f64,
    pub virial: [f64; 6],
}

/// Per-atom output arrays of LAMMPS, each empty when not requested this step.
pub struct AtomOutputs<'a> {
    /// `[nall*3]`, added to.
    pub force: &'a mut [f64],
    /// `[nall]` per-atom energy (only locals receive energy).
    pub energy: &'a mut [f64],
    /// `[nall*6]` xx yy zz xy xz yz.
    pub virial: &'a mut [f64],
    /// `[nall*9]` xx yy zz xy xz yz yx zx zy.
    pub centroid_virial: &'a mut [f64],
}

pub struct Core {
    pub settings: PairSettings,
    pub units: Units,
    model: Model,
    /// Model type of each LAMMPS type (index t-1); empty until pair_coeff.
    type_map: Vec<Option<usize>>,
    ext: ExtendedAtoms,
    /// Changes only when LAMMPS rebuilds its list.
    atype: Option<Tensor>,
    /// `sum(sel)`: the model's neighbor budget, the minimum nlist width.
    nnei_model: usize,
    coords: Vec<f64>,
    nlist: Vec<i64>,
    nlist_scratch: Vec<i64>,
    eval: Evaluation,
    /// The PCA coverage monitor, when `coverage` is given.
    pub monitor: Option<Monitor>,
    /// Models 2.. for the model deviation (evaluated on output steps only).
    extra_models: Vec<Model>,
    extra_eval: Evaluation,
    pub deviation: Option<Deviation>,
    pub timing: Timing,
    /// Lines for the LAMMPS log and warnings, taken by the pair style after each call.
    pub messages: Vec<String>,
    pub warnings: Vec<String>,
    /// Whether this run has warned about neighbours beyond `sel` (once per run).
    sel_warned: bool,
}

/// Model 3×3 (row-major) → LAMMPS xx yy zz xy xz yz, as DeePMD-kit's pair style maps it.
const VOIGT: [usize; 6] = [0, 4, 8, 3, 6, 7];
/// Model 3×3 → LAMMPS centroid order xx yy zz xy xz yz yx zx zy.
const CENTROID: [usize; 9] = [0, 4, 8, 3, 6, 7, 1, 2, 5];

impl Core {
    /// `lammps_threads`: LAMMPS's OpenMP threads per rank (from OMP_NUM_THREADS or
    /// `package omp`), used unless the `threads` keyword overrides it.
    pub fn new(args: &[String], unit_style: &str, rank: usize, lammps_threads: usize) -> Result<Core> {
        let settings = PairSettings::parse(args)?;
        let units = Units::from_lammps_style(unit_style)?;
        let threads = match settings.threads {
            0 => lammps_threads.max(1),
            n => n,
        };
        tch::set_num_threads(threads as i32);
        let device = resolve_device(settings.device, rank)?;
        let model = Model::load(&settings.models[0], device, settings.backend, threads)?;
        let mut extra_models = Vec::new();
        for path in &settings.models[1..] {
            let m = Model::load(path, device, settings.backend, threads)?;
            if m.info.type_map != model.info.type_map || m.info.rcut != model.info.rcut {
                return Err(Error::Model(format!(
                    "model deviation needs models with the same type map and cutoff: '{path}' has [{}] and {} Å, '{}' has [{}] and {} Å",
                    m.info.type_map.join(" "), m.info.rcut, settings.models[0], model.info.type_map.join(" "), model.info.rcut
                )));
            }
            extra_models.push(m);
        }
        let deviation = (!extra_models.is_empty())
            .then(|| Deviation::new(&settings.out_file, settings.out_freq, 1 + extra_models.len()))
            .transpose()?;
        let nnei_model = model.info.sel.iter().sum::<i64>().max(1) as usize;
        let mut messages = Vec::new();
        let monitor = match &settings.coverage {
            Some(c) => {
                let m = Monitor::new(c.clone(), &model.info.type_map, model.info.rcut, threads)?;
                m.check_model_file(&settings.models[0])?;
                if rank == 0 {
                    messages.push(m.describe());
                    messages.push(m.remove_leftovers()?);
                }
                Some(m)
            }
            None => None,
        };
        let warnings: Vec<String> = settings.ignored_keywords().into_iter().collect();
        Ok(Core {
            settings,
            units,
            model,
            type_map: Vec::new(),
            ext: ExtendedAtoms::default(),
            atype: None,
            nnei_model,
            coords: Vec::new(),
            nlist: Vec::new(),
            nlist_scratch: Vec::new(),
            eval: Evaluation::default(),
            monitor,
            extra_models,
            extra_eval: Evaluation::default(),
            deviation,
            timing: Timing::default(),
            messages,
            warnings,
            sel_warned: false,
        })
    }

    pub fn summary(&self) -> String {
        let i = &self.model.info;
        format!(
            "llzo_dp: model {}{} | type map [{}] | rcut {} Å | sel [{}] | device {:?} | {} threads | {}{}\n",
            self.settings.models[0],
            match self.extra_models.len() {
                0 => String::new(),
                n => format!(" (+{n} for model deviation every {} steps)", self.settings.out_freq),
            },
            i.type_map.join(" "),
            i.rcut,
            i.sel.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" "),
            self.model.device,
            tch::get_num_threads(),
            self.model.backend_note,
            match &self.monitor {
                Some(m) => format!(" | coverage monitor every {} steps, reference {}", m.settings.every, m.settings.reference),
                None => String::new(),
            }
        ) + &crate::blas::interposition_warning().unwrap_or_default()
    }

    /// Model cutoff in LAMMPS length units.
    pub fn cutoff(&self) -> f64 {
        self.model.info.rcut * self.units.length
    }

    pub fn type_map(&self) -> &[String] {
        &self.model.info.type_map
    }

    /// Model type of LAMMPS type `t` (1-based), or None (NULL / unknown).
    pub fn model_type(&self, t: usize) -> Option<usize> {
        self.type_map.get(t.checked_sub(1)?).copied().flatten()
    }

    /// Per-atom coverage of the last evaluation into a LAMMPS-indexed array of owned
    /// atoms; atoms the model ignores get -1.
    pub fn atom_coverage(&self, out: &mut [f64]) {
        out.fill(-1.0);
        if let Some(m) = &self.monitor {
            for (&i, &c) in self.ext.lammps_index.iter().zip(&m.atom_coverage) {
                if let Some(o) = out.get_mut(i) {
                    *o = c;
                }
            }
        }
    }

    pub fn set_type_names(&mut self, names: &[String], n_lammps_types: usize) -> Result<()> {
        let map = map_types(names, n_lammps_types, &self.model.info.type_map)?;
        if !self.type_map.is_empty() && self.type_map != map {
            self.warnings.push(format!(
                "pair_coeff * * {} replaces the earlier element map of pair_style llzo_dp (the last pair_coeff counts)",
                names.join(" ")
            ));
        }
        self.type_map = map;
        Ok(())
    }

    /// At the start of every run: the effective type -> element map for the log, warnings
    /// for an element shared by types of different masses (`masses[t-1]`, empty when
    /// unknown); the once-per-run warnings start afresh.
    pub fn start_run(&mut self, masses: &[f64]) -> String {
        self.sel_warned = false;
        let (line, warnings) = describe_type_map(&self.type_map, &self.model.info.type_map, masses);
        self.warnings.extend(warnings);
        line
    }

    /// Whether LAMMPS type `t` (1-based) is handled by the model.
    pub fn maps_type(&self, t: usize) -> bool {
        self.model_type(t).is_some()
    }

    pub fn rebuild_neighbors(&mut self, list: &LammpsList) -> Result<()> {
        if self.type_map.is_empty() {
            return Err(Error::Input("pair_coeff * * <elements> must come before the run".into()));
        }
        let mut t = Instant::now();
        self.ext.rebuild(list, &self.type_map)?;
        let nall = self.ext.nall() as i64;
        let dev: Device = self.model.device;
        self.atype = Some(Tensor::f_from_slice(&self.ext.atype)?.f_view([1, nall])?.f_to_device(dev)?);
        self.timing.rebuild += lap(&mut t);
        self.timing.rebuilds += 1;
        Ok(())
    }

    /// One step: `x` is LAMMPS's `[nall*3]` positions; per-atom outputs are added to.
    /// On the monitor's steps this rank's coverage occupancy is filled as well.
    /// `tags`: LAMMPS atom IDs `[nall]`, for messages.
    pub fn compute(&mut self, step: i64, x: &[f64], tags: &[i32], out: AtomOutputs) -> Result<StepTotals> {
        let Some(atype) = &self.atype else {
            return Err(Error::Internal("compute before the neighbor data was built".into()));
        };
        let want_virial_atom = !out.virial.is_empty() || !out.centroid_virial.is_empty();
        let mut t = Instant::now();
        self.timing.steps += 1;
        self.ext.gather_coords(x, &mut self.coords)?;
        let lammps_index = &self.ext.lammps_index;
        let tag_of = |e: usize| lammps_index.get(e).and_then(|&i| tags.get(i)).map_or(-1, |&t| t as i64);
        step_checks::check_coordinates(step, &self.coords, tag_of)?;
        let rcut = self.model.info.rcut;
        let width = self.ext.within_cutoff(&self.coords, rcut, self.nnei_model, &mut self.nlist_scratch, &mut self.nlist);
        let overflow = sel_warning(&self.model.info.sel, self.model.info.type_map.len(), &self.nlist, width, self.ext.nloc, &self.ext.atype);
        if let Some(w) = overflow {
            // DeePMD-kit keeps the nearest sel[t] of each type; a row in LAMMPS's order would
            // keep the first ones (the graph sorts only rows wider than sum(sel))
            step_checks::sort_rows_by_distance(&self.coords, &mut self.nlist, width, self.ext.nloc);
            if !self.sel_warned {
                self.warnings.push(w);
                self.sel_warned = true;
            }
        }
        self.timing.prepare += lap(&mut t);
        if let Some(m) = self.monitor.as_mut().filter(|m| m.due(step)) {
            // every rank takes part in the reductions, also one without atoms of ours
            m.add_local(&self.coords, &self.ext.atype, self.ext.nloc, &self.nlist)?;
            self.timing.coverage += lap(&mut t);
        }
        let deviation_step = self.deviation.as_ref().is_some_and(|d| d.due(step));
        if let Some(d) = self.deviation.as_mut().filter(|_| deviation_step) {
            d.start(x.len() / 3); // on every rank: the reverse communication follows
        }
        if self.ext.nloc == 0 {
            return Ok(StepTotals::default()); // nothing of ours on this rank
        }
        let input = StepInput {
            coord: &self.coords,
            atype: &self.ext.atype,
            atype_tensor: atype,
            nlist: &self.nlist,
            nloc: self.ext.nloc,
            width,
        };
        self.model.evaluate(&input, want_virial_atom, &mut self.eval)?;
        let lammps_index = &self.ext.lammps_index;
        let tag_of = |e: usize| lammps_index.get(e).and_then(|&i| tags.get(i)).map_or(-1, |&t| t as i64);
        step_checks::check_outputs(step, self.eval.energy, &self.eval.force, &self.eval.virial, tag_of)?;
        self.timing.model += lap(&mut t);

        let (eu, fu) = (self.units.energy, self.units.force());
        if let Some(d) = self.deviation.as_mut().filter(|_| deviation_step) {
            let lammps = &self.ext.lammps_index;
            d.add_model(0, lammps, &self.eval.force, &self.eval.virial, fu, eu);
            for (k, m) in self.extra_models.iter_mut().enumerate() {
                m.evaluate(&input, false, &mut self.extra_eval)?;
                d.add_model(k + 1, lammps, &self.extra_eval.force, &self.extra_eval.virial, fu, eu);
            }
            self.timing.deviation += lap(&mut t);
        }
        let ev = &self.eval;
        let lammps = &self.ext.lammps_index;
        check_len("force", out.force.len(), 3 * (x.len() / 3))?;
        for (e, &i) in lammps.iter().enumerate() {
            for k in 0..3 {
                out.force[3 * i + k] += fu * ev.force[3 * e + k];
            }
        }
        if !out.energy.is_empty() {
            check_len("per-atom energy", out.energy.len(), x.len() / 3)?;
            for (e, &i) in lammps.iter().take(self.ext.nloc).enumerate() {
                out.energy[i] += eu * ev.atom_energy[e];
            }
        }
        if !out.virial.is_empty() {
            check_len("per-atom virial", out.virial.len(), 6 * (x.len() / 3))?;
            for (e, &i) in lammps.iter().enumerate() {
                for (k, &m) in VOIGT.iter().enumerate() {
                    out.virial[6 * i + k] += eu * ev.atom_virial[9 * e + m];
                }
            }
        }
        if !out.centroid_virial.is_empty() {
            check_len("per-atom centroid virial", out.centroid_virial.len(), 9 * (x.len() / 3))?;
            for (e, &i) in lammps.iter().enumerate() {
                for (k, &m) in CENTROID.iter().enumerate() {
                    out.centroid_virial[9 * i + k] += eu * ev.atom_virial[9 * e + m];
                }
            }
        }
        let mut totals = StepTotals { energy: eu * ev.energy, virial: [0.0; 6] };
        for (k, &m) in VOIGT.iter().enumerate() {
            totals.virial[k] = eu * ev.virial[m];
        }
        self.timing.unpack += lap(&mut t);
        Ok(totals)
    }

    /// The timing line for the log (see `timing.rs`), then the counters restart.
    pub fn timing_report(&mut self) -> String {
        let (nloc, nall) = (self.ext.nloc, self.ext.nall());
        let line = self.timing.report(nloc, nall);
        match self.model.take_phase_report() {
            p if p.is_empty() || line.is_empty() => line,
            p => format!("{} | {p}\n", line.trim_end()),
        }
    }
}

/// The warning (once per run) when some atoms have more neighbours of a type within the
/// cutoff than the model's `sel`: the model ignores the farthest ones, as DeePMD-kit does.
fn sel_warning(sel: &[i64], ntypes: usize, nlist: &[i64], width: usize, nloc: usize, atype: &[i64]) -> Option<String> {
    if sel.len() != ntypes {
        return None;
    }
    let (atoms, excess) = step_checks::sel_overflow(nlist, width, nloc, atype, sel)?;
    Some(format!(
        "pair_style llzo_dp: {atoms} atom(s) on this rank have more neighbours of one type within the cutoff than \
         the model's sel [{}] (up to {excess} more); the model ignores the farthest of them, as DeePMD-kit does: \
         the structure is denser than the model was built for",
        sel.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" ")
    ))
}

fn check_len(what: &str, got: usize, need: usize) -> Result<()> {
    if got < need {
        return Err(Error::Internal(format!("{what} array holds {got} values, needs {need}")));
    }
    Ok(())
}
