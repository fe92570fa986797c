//! The core behind the pair style: one model, the LAMMPS→model atom mapping, and the
//! per-step recipe gather → evaluate → scatter with buffers reused between steps.

use std::collections::HashMap;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::deviation::Deviation;
use crate::model::{resolve_device, Evaluation, Model, NativeOptions, StepInput};
use crate::coverage::monitor::Monitor;
use crate::model::file as model_file;
use crate::neighbors::{ClosestPair, ExtendedAtoms, LammpsList};
use crate::preflight;
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
    /// Whether the neighbor data was built (LAMMPS's first list).
    built: bool,
    /// `sum(sel)`: the model's neighbor budget, the minimum nlist width.
    nnei_model: usize,
    coords: Vec<f64>,
    nlist: Vec<i64>,
    nlist_scratch: Vec<i64>,
    /// Whether a model (the first, or one of the deviation's) passes messages between layers.
    message_passing: bool,
    /// Message passing on several MPI ranks: the address of the pair style's `GhostExchange`,
    /// through which `deepmd::border_op` moves features (`enable_ghost_exchange`).
    ghost_exchange: Option<i64>,
    /// Message passing on one rank: the local image of each extended atom, and its scratch.
    mapping: Vec<i64>,
    by_tag: HashMap<i32, i64>,
    /// `aparam` repeated for every atom the model takes it for.
    aparam_atoms: Vec<f64>,
    eval: Evaluation,
    /// The PCA coverage monitor, when `coverage` is given.
    pub monitor: Option<Monitor>,
    /// Models 2.. for the model deviation (evaluated on output steps only).
    extra_models: Vec<Model>,
    extra_eval: Evaluation,
    pub deviation: Option<Deviation>,
    pub timing: Timing,
    /// A warning from reading the settings (a lowered thread count), shown with the summary.
    settings_warning: String,
    /// Lines for the LAMMPS log and warnings, taken by the pair style after each call.
    pub messages: Vec<String>,
    pub warnings: Vec<String>,
    /// Whether this run has warned about neighbours beyond `sel` (once per run).
    sel_warned: bool,
}

/// Feature values per atom in one LAMMPS communication of the ghost exchange (DPA-2's and
/// DPA-3's default feature width); wider features go in several passes.
const GHOST_EXCHANGE_WIDTH: usize = 128;

/// Model 3×3 (row-major) → LAMMPS xx yy zz xy xz yz, as DeePMD-kit's pair style maps it.
const VOIGT: [usize; 6] = [0, 4, 8, 3, 6, 7];
/// Model 3×3 → LAMMPS centroid order xx yy zz xy xz yz yx zx zy.
const CENTROID: [usize; 9] = [0, 4, 8, 3, 6, 7, 1, 2, 5];

impl Core {
    /// `unit_style`, `boltz`, `angstrom`: LAMMPS's unit style and its `force->boltz` and
    /// `force->angstrom` (see units.rs). `lammps_threads`: LAMMPS's OpenMP threads per rank
    /// (from OMP_NUM_THREADS or `package omp`), used unless the `threads` keyword overrides it.
    pub fn new(args: &[String], unit_style: &str, boltz: f64, angstrom: f64, rank: usize, lammps_threads: usize) -> Result<Core> {
        let settings = PairSettings::parse(args)?;
        let units = Units::from_lammps(unit_style, boltz, angstrom)?;
        let (threads, threads_warning) = preflight::effective_threads(settings.threads, lammps_threads);
        tch::set_num_threads(threads as i32);
        preflight::check_outputs(&settings)?;
        for path in settings.models.iter().filter(|_| !settings.trust_model) {
            model_file::check_path(path)?;
            model_file::check_code(path)?;
        }
        let device = resolve_device(settings.device, rank)?;
        let native = NativeOptions { threads, tabulate: settings.tabulate, precision: settings.precision };
        let model = Model::load(&settings.models[0], device, settings.backend, native)?;
        model.check_params(&settings.models[0], &settings.fparam, &settings.aparam)?;
        let mut extra_models = Vec::new();
        for path in &settings.models[1..] {
            let m = Model::load(path, device, settings.backend, native)?;
            m.check_params(path, &settings.fparam, &settings.aparam)?;
            if m.info.type_map != model.info.type_map || m.info.rcut != model.info.rcut {
                return Err(Error::Model(format!(
                    "model deviation needs models with the same type map and cutoff: '{path}' has [{}] and {} Å, '{}' has [{}] and {} Å",
                    m.info.type_map.join(" "), m.info.rcut, settings.models[0], model.info.type_map.join(" "), model.info.rcut
                )));
            }
            extra_models.push(m);
        }
        let n_models = 1 + extra_models.len();
        let deviation = (n_models > 1)
            .then(|| Deviation::new(&settings.out_file, settings.out_freq, n_models, settings.deviation, units))
            .transpose()?;
        let nnei_model = model.info.sel.iter().sum::<i64>().max(1) as usize;
        let mut messages = Vec::new();
        if let Some(note) = deviation.as_ref().and_then(Deviation::unit_note).filter(|_| rank == 0) {
            messages.push(note + "\n");
        }
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
        let message_passing = model.info.message_passing || extra_models.iter().any(|m| m.info.message_passing);
        Ok(Core {
            settings,
            units,
            model,
            type_map: Vec::new(),
            ext: ExtendedAtoms::default(),
            built: false,
            nnei_model,
            coords: Vec::new(),
            nlist: Vec::new(),
            nlist_scratch: Vec::new(),
            message_passing,
            ghost_exchange: None,
            mapping: Vec::new(),
            by_tag: HashMap::new(),
            aparam_atoms: Vec::new(),
            eval: Evaluation::default(),
            monitor,
            extra_models,
            extra_eval: Evaluation::default(),
            deviation,
            timing: Timing::default(),
            settings_warning: threads_warning.unwrap_or_default(),
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
            + &self.settings_warning
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
        model_type_of(&self.type_map, t)
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
        let model_types = self.model.info.type_map.len();
        if names.is_empty() && model_types > n_lammps_types {
            self.warnings.push(format!(
                "pair_coeff * * maps the {n_lammps_types} atom types onto the first {n_lammps_types} of the model's \
                 {model_types} elements by position; name them to be sure (pair_coeff * * {})",
                self.model.info.type_map[..n_lammps_types].join(" ")
            ));
        }
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

    /// The pair style's feature exchange for message-passing models on `nprocs` ranks, at
    /// `address` (a `GhostExchange`, `cpp/ghost_exchange.h`). Returns the values per atom that
    /// one LAMMPS communication carries (the exchange sends wider features in passes), or 0
    /// when no model needs the exchange.
    pub fn enable_ghost_exchange(&mut self, address: i64, nprocs: usize) -> Result<usize> {
        self.ghost_exchange = None;
        if !self.message_passing || nprocs < 2 {
            return Ok(0);
        }
        if !crate::ffi::torch::plugin_provides_border_op()? {
            return Err(Error::Model(
                "a message-passing model (DPA-2, DPA-3) on several MPI ranks needs pair_style llzo_dp's own \
                 deepmd::border_op, but DeePMD-kit's op library, loaded earlier in this process (by pair_style \
                 deepmd's plugin), owns that operator; run the two pair styles in separate LAMMPS runs, or \
                 run on one MPI rank"
                    .into(),
            ));
        }
        self.ghost_exchange = Some(address);
        Ok(GHOST_EXCHANGE_WIDTH)
    }

    pub fn rebuild_neighbors(&mut self, list: &LammpsList) -> Result<()> {
        if self.type_map.is_empty() {
            return Err(Error::Input("pair_coeff * * <elements> must come before the run".into()));
        }
        let mut t = Instant::now();
        match self.ghost_exchange {
            Some(_) => self.ext.rebuild_in_lammps_order(list, &self.type_map)?,
            None => self.ext.rebuild(list, &self.type_map)?,
        }
        self.built = true;
        self.timing.rebuild += lap(&mut t);
        self.timing.rebuilds += 1;
        Ok(())
    }

    /// One step: `x` is LAMMPS's `[nall*3]` positions; per-atom outputs are added to.
    /// On the monitor's steps this rank's coverage occupancy is filled as well.
    /// `tags`: LAMMPS atom IDs `[nall]`, for messages.
    pub fn compute(&mut self, step: i64, x: &[f64], tags: &[i32], out: AtomOutputs) -> Result<StepTotals> {
        if !self.built {
            return Err(Error::Internal("compute before the neighbor data was built".into()));
        }
        let want_virial_atom = !out.virial.is_empty() || !out.centroid_virial.is_empty();
        let mut t = Instant::now();
        self.timing.steps += 1;
        self.ext.gather_coords(x, self.units.length, &mut self.coords)?;
        step_checks::check_coordinates(step, &self.coords, tag_of(&self.ext.lammps_index, tags))?;
        let rcut = self.model.info.rcut;
        let mut closest = ClosestPair::default();
        let width = self.ext.within_cutoff(&self.coords, rcut, self.nnei_model, &mut self.nlist_scratch,
                                           &mut self.nlist, &mut closest);
        check_overlap(&self.coords, closest)?;
        let graph_selects = self.selection_by_graph(width);
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
        if self.ext.nloc == 0 && self.ghost_exchange.is_none() {
            return Ok(StepTotals::default()); // nothing of ours on this rank
        }
        if self.message_passing && self.ghost_exchange.is_none() {
            self.ext.ghost_images(tags, &mut self.by_tag, &mut self.mapping)?;
        }
        let aparam = &self.settings.aparam;
        let atoms = if self.model.info.aparam_nall { self.ext.nall() } else { self.ext.nloc };
        self.aparam_atoms.clear();
        (0..atoms).filter(|_| !aparam.is_empty()).for_each(|_| self.aparam_atoms.extend_from_slice(aparam));
        let mut input = StepInput::within_cutoff(&self.coords, &self.ext.atype, &self.nlist, self.ext.nloc, width);
        (input.mapping, input.ghost_exchange, input.fparam) = (&self.mapping, self.ghost_exchange, &self.settings.fparam);
        (input.aparam, input.aparam_dim) = (&self.aparam_atoms, aparam.len());
        if graph_selects || self.model.info.sorts_nlist {
            // what pair_style deepmd hands over; a sorting graph would otherwise break ties in
            // the filtered rows differently
            (input.graph_nlist, input.graph_width, input.graph_selects) = (&self.ext.nlist, self.ext.nnei, graph_selects);
        }
        self.model.evaluate(&input, want_virial_atom, &mut self.eval)?;
        let tags_of_model_atoms = tag_of(&self.ext.lammps_index, tags);
        step_checks::check_outputs(step, self.eval.energy, &self.eval.force, &self.eval.virial, tags_of_model_atoms)?;
        self.timing.model += lap(&mut t);

        if let Some(d) = self.deviation.as_mut().filter(|_| deviation_step) {
            let lammps = &self.ext.lammps_index;
            d.add_model(0, lammps, &self.eval.force, &self.eval.virial);
            for (k, m) in self.extra_models.iter_mut().enumerate() {
                m.evaluate(&input, false, &mut self.extra_eval)?;
                d.add_model(k + 1, lammps, &self.extra_eval.force, &self.extra_eval.virial);
            }
            self.timing.deviation += lap(&mut t);
        }
        let totals = self.scatter(x.len() / 3, out)?;
        self.timing.unpack += lap(&mut t);
        Ok(totals)
    }

    /// Adds this step's model outputs to LAMMPS's per-atom arrays (`nall` atoms), in LAMMPS
    /// units; returns the totals.
    fn scatter(&self, nall: usize, out: AtomOutputs) -> Result<StepTotals> {
        let (eu, fu) = (self.units.energy, self.units.force());
        let ev = &self.eval;
        let lammps = &self.ext.lammps_index;
        check_len("force", out.force.len(), 3 * nall)?;
        for (e, &i) in lammps.iter().enumerate() {
            for k in 0..3 {
                out.force[3 * i + k] += fu * ev.force[3 * e + k];
            }
        }
        if !out.energy.is_empty() {
            check_len("per-atom energy", out.energy.len(), nall)?;
            for (e, &i) in lammps.iter().take(self.ext.nloc).enumerate() {
                out.energy[i] += eu * ev.atom_energy[e];
            }
        }
        if !out.virial.is_empty() {
            check_len("per-atom virial", out.virial.len(), 6 * nall)?;
            for (e, &i) in lammps.iter().enumerate() {
                for (k, &m) in VOIGT.iter().enumerate() {
                    out.virial[6 * i + k] += eu * ev.atom_virial[9 * e + m];
                }
            }
        }
        if !out.centroid_virial.is_empty() {
            check_len("per-atom centroid virial", out.centroid_virial.len(), 9 * nall)?;
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
        Ok(totals)
    }

    /// Whether only the graph's own selection is right this step. When some type has more
    /// neighbours within the cutoff than its sel, which ones count depends on the row order:
    /// `pair_style deepmd` passes LAMMPS's rows (skin included) and the graph sorts them by
    /// distance (unstable sort: equal distances keep no defined order) when they are wider than
    /// Σsel or the model always sorts, else keeps the first ones in list order. Giving the graph
    /// the same rows reproduces its choice exactly. Warns once per run.
    fn selection_by_graph(&mut self, width: usize) -> bool {
        let info = &self.model.info;
        let Some(w) = sel_warning(&info.sel, info.type_map.len(), &self.nlist, width, self.ext.nloc, &self.ext.atype) else {
            return false;
        };
        if !self.sel_warned {
            self.warnings.push(w);
            self.sel_warned = true;
        }
        // rows no wider than Σsel and a graph that does not sort: the first ones in list order
        // within the cutoff, which the native evaluator keeps as well
        info.sorts_nlist || self.ext.nnei > self.nnei_model
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

/// Atoms closer than this (Å) are the same atom placed twice; the model's environment
/// matrix divides by the distance, so it would return NaN or a finite but meaningless number.
const OVERLAP: f64 = 0.01;

/// The closest pair of the neighbour list, as an error when it is closer than `OVERLAP`.
fn check_overlap(coords: &[f64], closest: ClosestPair) -> Result<()> {
    if closest.d2 >= OVERLAP * OVERLAP {
        return Ok(());
    }
    let xi = &coords[3 * closest.atom..3 * closest.atom + 3];
    Err(Error::Input(format!(
        "two atoms are {:.3e} Å apart, at ({:.4}, {:.4}, {:.4}) Å: overlapping atoms (an atom \
         created twice?), which the model cannot evaluate; remove the duplicates, e.g. \
         'delete_atoms overlap 0.1 all all'",
        closest.d2.sqrt(),
        xi[0],
        xi[1],
        xi[2]
    )))
}

/// The warning (once per run) when some atoms have more neighbours of a type within the
/// cutoff than the model's `sel`: the model ignores some of them, as DeePMD-kit does.
fn sel_warning(sel: &[i64], ntypes: usize, nlist: &[i64], width: usize, nloc: usize, atype: &[i64]) -> Option<String> {
    if sel.len() != ntypes {
        return None;
    }
    let (atoms, excess) = step_checks::sel_overflow(nlist, width, nloc, atype, sel)?;
    Some(format!(
        "pair_style llzo_dp: {atoms} atom(s) on this rank have more neighbours of one type within the cutoff than \
         the model's sel [{}] (up to {excess} more); the model ignores the excess, chosen as `pair_style deepmd` chooses it: \
         the structure is denser than the model was built for",
        sel.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" ")
    ))
}

/// The model type of LAMMPS type `t` (1-based) in `type_map`, `None` for NULL or unknown.
fn model_type_of(type_map: &[Option<usize>], t: usize) -> Option<usize> {
    type_map.get(t.checked_sub(1)?).copied().flatten()
}

/// LAMMPS atom ID of each model atom (-1 where unknown), for messages.
fn tag_of<'a>(lammps_index: &'a [usize], tags: &'a [i32]) -> impl Fn(usize) -> i64 + 'a {
    move |e| lammps_index.get(e).and_then(|&i| tags.get(i)).map_or(-1, |&t| t as i64)
}

fn check_len(what: &str, got: usize, need: usize) -> Result<()> {
    if got < need {
        return Err(Error::Internal(format!("{what} array holds {got} values, needs {need}")));
    }
    Ok(())
}

/// Periodicity flags x, y, z from LAMMPS's `domain->periodicity`.
fn periodic_flags(periodic: &[i32]) -> Result<[bool; 3]> {
    match periodic {
        [a, b, c] => Ok([*a != 0, *b != 0, *c != 0]),
        _ => Err(Error::Internal("periodicity needs 3 flags".into())),
    }
}

/// Model deviation and coverage monitor, as the pair style drives them: each is off (and
/// these calls answer "nothing") unless its keywords were given.
impl Core {
    /// Values per atom in the reverse communication of the model deviation (3 × models).
    pub fn deviation_width(&self) -> usize {
        self.deviation.as_ref().map_or(0, |d| 3 * d.n_models)
    }

    pub fn deviation_due(&self, step: i64) -> bool {
        self.deviation.as_ref().is_some_and(|d| d.due(step))
    }

    /// `[nall][width]` forces of every model, LAMMPS-indexed.
    pub fn deviation_forces(&mut self) -> &mut [f64] {
        self.deviation.as_mut().map_or(&mut [], |d| d.forces.as_mut_slice())
    }

    /// This rank's partials over its owned atoms (LAMMPS `types` of them) of mapped types;
    /// keeps each owned atom's deviation for `deviation_atom_values`.
    pub fn deviation_partials(&mut self, types: &[i32]) -> Vec<f64> {
        let type_map = &self.type_map;
        let mapped = |i: usize| model_type_of(type_map, types[i].max(0) as usize).is_some();
        match self.deviation.as_mut() {
            Some(d) => d.partials(types.len(), mapped),
            None => Vec::new(),
        }
    }

    /// Whether out_file gets one column per atom (`atomic`): the pair style gathers
    /// `deviation_atom_values` and the atom IDs on rank 0.
    pub fn deviation_atomic(&self) -> bool {
        self.deviation.as_ref().is_some_and(Deviation::atomic)
    }

    /// The deviation of each owned atom from the last `deviation_partials` (model units).
    pub fn deviation_atom_values(&self) -> &[f64] {
        self.deviation.as_ref().map_or(&[], |d| d.atom_devi.as_slice())
    }

    /// Rank 0: the line of `step`; `ids` and `atom_values` gathered from every rank with
    /// `atomic` (else empty).
    pub fn write_deviation(&mut self, step: i64, reduced: &[f64], natoms: f64, ids: &[i32], atom_values: &[f64]) -> Result<()> {
        let d = self.deviation.as_mut().ok_or_else(|| Error::Internal("model deviation is off".into()))?;
        d.write(step, reduced, natoms, ids, atom_values)
    }

    /// Refuses frame formats that cannot hold this box (`periodic`: x, y, z flags).
    pub fn check_boundary(&self, periodic: &[i32]) -> Result<()> {
        match &self.monitor {
            Some(m) => m.check_boundary(periodic_flags(periodic)?),
            None => Ok(()),
        }
    }

    /// Lines for the LAMMPS log gathered since the last call (rank 0 prints them).
    pub fn take_messages(&mut self) -> Vec<String> {
        std::mem::take(&mut self.messages).into_iter().filter(|m| !m.is_empty()).collect()
    }

    /// Warnings gathered since the last call, for `error->warning`.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Monitor values for `compute pair` (overall + one per element), 0 when off.
    pub fn coverage_nvalues(&self) -> usize {
        self.monitor.as_ref().map_or(0, |m| m.values.len())
    }

    pub fn coverage_due(&self, step: i64) -> bool {
        self.monitor.as_ref().is_some_and(|m| m.due(step))
    }

    pub fn coverage_bits(&mut self) -> &mut [u64] {
        self.monitor.as_mut().map_or(&mut [], |m| m.bits_mut())
    }

    pub fn coverage_counts(&mut self) -> &mut [u64] {
        self.monitor.as_mut().map_or(&mut [], |m| m.counts_mut())
    }

    /// After the reductions: (dump this frame, log line).
    pub fn finish_coverage(&mut self, step: i64, rank0: bool) -> Result<(bool, String)> {
        let t = Instant::now();
        let m = self.monitor.as_mut().ok_or_else(|| Error::Internal("coverage monitor is off".into()))?;
        let done = m.finish(step, rank0);
        self.timing.coverage += t.elapsed().as_secs_f64();
        done
    }

    /// Overall coverage then per element of the last monitored frame.
    pub fn coverage_values(&self, out: &mut [f64]) {
        if let Some(m) = &self.monitor {
            out.iter_mut().zip(&m.values).for_each(|(o, v)| *o = *v);
        }
    }

    /// Writes the frame gathered on rank 0 (`cell` rows a, b, c; `periodic` x, y, z flags;
    /// LAMMPS `ids`, types and `coords`, all in LAMMPS units), then its CSV row: only atoms the model handles go
    /// into a frame for labeling. Returns the log line.
    #[allow(clippy::too_many_arguments)]
    pub fn write_coverage_frame(
        &mut self,
        step: i64,
        cell: &[f64],
        origin: &[f64],
        periodic: &[i32],
        ids: &[i32],
        lammps_types: &[i32],
        coords: &[f64],
    ) -> Result<String> {
        let pbc = periodic_flags(periodic)?;
        if cell.len() != 9 || origin.len() != 3 || coords.len() != 3 * ids.len() || lammps_types.len() != ids.len() {
            return Err(Error::Internal("gathered frame arrays disagree in size".into()));
        }
        // frames are written in Å, the units of the model and of labelling
        let angstrom = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x / self.units.length).collect() };
        let (cell, origin, coords) = (&angstrom(cell)[..], &angstrom(origin)[..], &angstrom(coords)[..]);
        let (mut keep_ids, mut keep_x, mut keep_t) = (Vec::new(), Vec::new(), Vec::new());
        for (k, (&id, &t)) in ids.iter().zip(lammps_types).enumerate() {
            if let Some(mt) = self.model_type(t.max(0) as usize) {
                keep_ids.push(id as i64);
                keep_t.push(mt as i64);
                keep_x.extend_from_slice(&coords[3 * k..3 * k + 3]);
            }
        }
        let c = [[cell[0], cell[1], cell[2]], [cell[3], cell[4], cell[5]], [cell[6], cell[7], cell[8]]];
        let m = self.monitor.as_mut().ok_or_else(|| Error::Internal("coverage monitor is off".into()))?;
        let written = m.write_frame(step, c, [origin[0], origin[1], origin[2]], pbc, &keep_ids, &keep_x, &keep_t)?;
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        Ok(format!("llzo_dp coverage: step {step} written: {}\n", names.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::check_overlap;
    use crate::neighbors::ClosestPair;

    #[test]
    fn overlapping_atoms_are_refused() {
        // atom 0's closest neighbour at 1.5 Å, then one on top of it (0.001 Å)
        let coords = [0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.001];
        assert!(check_overlap(&coords, ClosestPair { d2: 1.5 * 1.5, atom: 0 }).is_ok());
        let e = check_overlap(&coords, ClosestPair { d2: 0.001 * 0.001, atom: 0 }).unwrap_err().to_string();
        assert!(e.contains("1.000e-3 Å apart") && e.contains("delete_atoms overlap"), "{e}");
    }
}
