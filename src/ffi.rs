//! The one `cxx` bridge between the C++ pair style and the Rust core.
//! Every fallible function returns `Result`, which `cxx` turns into a C++
//! `rust::Error` exception; the pair style reports it through LAMMPS's `error`.

use crate::core::{AtomOutputs, Core};
use crate::error::Result;
use crate::neighbors::LammpsList;

#[cxx::bridge(namespace = "llzo_dp")]
mod bridge {
    /// Energy and virial (xx yy zz xy xz yz) of one step on this rank, LAMMPS units.
    struct StepEnergy {
        energy: f64,
        virial: [f64; 6],
    }

    /// The monitor's verdict on a frame, the same on every rank.
    struct CoverageVerdict {
        dump: bool,
        /// A line for the LAMMPS log (empty when there is nothing to say).
        message: String,
    }

    extern "Rust" {
        type Core;

        /// `pair_style llzo_dp` arguments (after the style name), `update->unit_style`,
        /// the MPI rank and LAMMPS's OpenMP thread count (`comm->nthreads`).
        fn new_core(args: Vec<String>, unit_style: &str, rank: i32, nthreads: i32) -> Result<Box<Core>>;
        /// One line for the LAMMPS log: model, type map, cutoff, device, threads.
        fn core_summary(core: &Core) -> String;
        /// Model cutoff in LAMMPS length units.
        fn core_cutoff(core: &Core) -> f64;
        /// `pair_coeff * *` names (one per LAMMPS type or NULL) for `ntypes` types.
        fn core_set_type_names(core: &mut Core, names: Vec<String>, ntypes: i32) -> Result<()>;
        /// Whether LAMMPS type `t` (1-based) is handled by the model.
        fn core_maps_type(core: &Core, t: i32) -> bool;
        /// Start of a run (`init_style`): the type -> element map for the log; `masses`
        /// per LAMMPS type (empty with per-atom masses) for the repeated-element warning.
        fn core_start_run(core: &mut Core, masses: &[f64]) -> String;
        /// Refuses frame formats that cannot hold this box (`periodic`: x, y, z flags).
        fn core_check_boundary(core: &Core, periodic: &[i32]) -> Result<()>;
        /// Lines for the LAMMPS log gathered since the last call (rank 0 prints them).
        fn core_take_messages(core: &mut Core) -> Vec<String>;
        /// Warnings gathered since the last call, for `error->warning`.
        fn core_take_warnings(core: &mut Core) -> Vec<String>;
        /// Called when LAMMPS has rebuilt its full list, packed as compressed rows.
        fn core_rebuild_neighbors(
            core: &mut Core,
            nlocal: i32,
            nghost: i32,
            types: &[i32],
            ilist: &[i32],
            offsets: &[i32],
            neighbors: &[i32],
        ) -> Result<()>;
        /// One step. Empty `eatom`/`vatom`/`cvatom` slices mean "not requested".
        fn core_compute(
            core: &mut Core,
            step: i64,
            x: &[f64],
            tags: &[i32],
            f: &mut [f64],
            eatom: &mut [f64],
            vatom: &mut [f64],
            cvatom: &mut [f64],
        ) -> Result<StepEnergy>;

        /// Time per phase of the steps since the last call, one log line (empty if none ran).
        fn core_timing_report(core: &mut Core) -> String;

        /// Model deviation: values per atom in the reverse communication (3 × models), 0 if off.
        fn core_devi_width(core: &Core) -> i32;
        /// Whether this step writes a model deviation line (reverse comm + reductions follow).
        fn core_devi_due(core: &Core, step: i64) -> bool;
        /// `[nall][width]` forces of every model, LAMMPS-indexed, for the reverse communication.
        fn core_devi_forces(core: &mut Core) -> &mut [f64];
        /// This rank's partials over owned atoms of mapped types: [max ε, min ε, sum ε, count, virials...].
        fn core_devi_partials(core: &Core, nlocal: i32, types: &[i32]) -> Vec<f64>;
        /// Rank 0, after reducing the partials (max, min, then sums): writes the line.
        fn core_devi_write(core: &mut Core, step: i64, reduced: &[f64], natoms: f64) -> Result<()>;

        /// Number of monitor values for `compute pair` (overall + one per element), 0 if off.
        fn core_coverage_nvalues(core: &Core) -> i32;
        /// Whether the monitor evaluated this step (then the reductions below follow).
        fn core_coverage_due(core: &Core, step: i64) -> bool;
        /// This rank's occupancy bitmaps: reduce in place with bitwise OR over ranks.
        fn core_coverage_bits(core: &mut Core) -> &mut [u64];
        /// This rank's counts: reduce in place with a sum over ranks.
        fn core_coverage_counts(core: &mut Core) -> &mut [u64];
        /// After the reductions: frame coverage, dump decision; rank 0 appends the CSV.
        fn core_coverage_finish(core: &mut Core, step: i64, rank0: bool) -> Result<CoverageVerdict>;
        /// Overall coverage then per element (NaN when absent), for `compute pair`.
        fn core_coverage_values(core: &Core, out: &mut [f64]);
        /// Per-atom coverage (LAMMPS-indexed owned atoms; -1 where not monitored).
        fn core_atom_coverage(core: &Core, out: &mut [f64]);
        /// Rank 0: writes the gathered frame, then its CSV row; `cell` a,b,c rows (9),
        /// `origin` (3), `periodic` x, y, z flags (3).
        fn core_coverage_write_frame(
            core: &mut Core,
            step: i64,
            cell: &[f64],
            origin: &[f64],
            periodic: &[i32],
            ids: &[i32],
            lammps_types: &[i32],
            coords: &[f64],
        ) -> Result<String>;
    }
}

use bridge::{CoverageVerdict, StepEnergy};
use crate::error::Error;

fn new_core(args: Vec<String>, unit_style: &str, rank: i32, nthreads: i32) -> Result<Box<Core>> {
    Core::new(&args, unit_style, rank.max(0) as usize, nthreads.max(1) as usize).map(Box::new)
}

fn core_summary(core: &Core) -> String {
    core.summary()
}

fn core_cutoff(core: &Core) -> f64 {
    core.cutoff()
}

fn core_set_type_names(core: &mut Core, names: Vec<String>, ntypes: i32) -> Result<()> {
    core.set_type_names(&names, ntypes.max(0) as usize)
}

fn core_maps_type(core: &Core, t: i32) -> bool {
    core.maps_type(t.max(0) as usize)
}

fn core_start_run(core: &mut Core, masses: &[f64]) -> String {
    core.start_run(masses)
}

fn periodic_flags(periodic: &[i32]) -> Result<[bool; 3]> {
    match periodic {
        [a, b, c] => Ok([*a != 0, *b != 0, *c != 0]),
        _ => Err(Error::Internal("periodicity needs 3 flags".into())),
    }
}

fn core_check_boundary(core: &Core, periodic: &[i32]) -> Result<()> {
    match &core.monitor {
        Some(m) => m.check_boundary(periodic_flags(periodic)?),
        None => Ok(()),
    }
}

fn core_take_messages(core: &mut Core) -> Vec<String> {
    std::mem::take(&mut core.messages).into_iter().filter(|m| !m.is_empty()).collect()
}

fn core_take_warnings(core: &mut Core) -> Vec<String> {
    std::mem::take(&mut core.warnings)
}

fn core_rebuild_neighbors(
    core: &mut Core,
    nlocal: i32,
    nghost: i32,
    types: &[i32],
    ilist: &[i32],
    offsets: &[i32],
    neighbors: &[i32],
) -> Result<()> {
    let list = LammpsList {
        nlocal: nlocal.max(0) as usize,
        nghost: nghost.max(0) as usize,
        types,
        ilist,
        offsets,
        neighbors,
    };
    core.rebuild_neighbors(&list)
}

fn core_compute(
    core: &mut Core,
    step: i64,
    x: &[f64],
    tags: &[i32],
    f: &mut [f64],
    eatom: &mut [f64],
    vatom: &mut [f64],
    cvatom: &mut [f64],
) -> Result<StepEnergy> {
    let out = AtomOutputs { force: f, energy: eatom, virial: vatom, centroid_virial: cvatom };
    let t = core.compute(step, x, tags, out)?;
    Ok(StepEnergy { energy: t.energy, virial: t.virial })
}

fn core_timing_report(core: &mut Core) -> String {
    core.timing_report()
}

fn core_devi_width(core: &Core) -> i32 {
    core.deviation.as_ref().map_or(0, |d| 3 * d.n_models as i32)
}

fn core_devi_due(core: &Core, step: i64) -> bool {
    core.deviation.as_ref().is_some_and(|d| d.due(step))
}

fn core_devi_forces(core: &mut Core) -> &mut [f64] {
    core.deviation.as_mut().map_or(&mut [], |d| d.forces.as_mut_slice())
}

fn core_devi_partials(core: &Core, nlocal: i32, types: &[i32]) -> Vec<f64> {
    let Some(d) = &core.deviation else { return Vec::new() };
    let n = (nlocal.max(0) as usize).min(types.len());
    d.partials(n, |i| core.model_type(types[i].max(0) as usize).is_some())
}

fn core_devi_write(core: &mut Core, step: i64, reduced: &[f64], natoms: f64) -> Result<()> {
    let d = core.deviation.as_mut().ok_or_else(|| Error::Internal("model deviation is off".into()))?;
    d.write(step, reduced, natoms)
}

fn core_coverage_nvalues(core: &Core) -> i32 {
    core.monitor.as_ref().map_or(0, |m| m.values.len() as i32)
}

fn core_coverage_due(core: &Core, step: i64) -> bool {
    core.monitor.as_ref().is_some_and(|m| m.due(step))
}

fn core_coverage_bits(core: &mut Core) -> &mut [u64] {
    core.monitor.as_mut().map_or(&mut [], |m| m.bits.as_mut_slice())
}

fn core_coverage_counts(core: &mut Core) -> &mut [u64] {
    core.monitor.as_mut().map_or(&mut [], |m| m.counts.as_mut_slice())
}

fn core_coverage_finish(core: &mut Core, step: i64, rank0: bool) -> Result<CoverageVerdict> {
    let m = core.monitor.as_mut().ok_or_else(|| Error::Internal("coverage monitor is off".into()))?;
    let (dump, message) = m.finish(step, rank0)?;
    Ok(CoverageVerdict { dump, message })
}

fn core_coverage_values(core: &Core, out: &mut [f64]) {
    if let Some(m) = &core.monitor {
        out.iter_mut().zip(&m.values).for_each(|(o, v)| *o = *v);
    }
}

fn core_atom_coverage(core: &Core, out: &mut [f64]) {
    core.atom_coverage(out)
}

#[allow(clippy::too_many_arguments)]
fn core_coverage_write_frame(
    core: &mut Core,
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
    // only atoms the model handles go into a frame for labeling
    let (mut keep_ids, mut keep_x, mut keep_t) = (Vec::new(), Vec::new(), Vec::new());
    for (k, (&id, &t)) in ids.iter().zip(lammps_types).enumerate() {
        if let Some(mt) = core.model_type(t.max(0) as usize) {
            keep_ids.push(id as i64);
            keep_t.push(mt as i64);
            keep_x.extend_from_slice(&coords[3 * k..3 * k + 3]);
        }
    }
    let c = [[cell[0], cell[1], cell[2]], [cell[3], cell[4], cell[5]], [cell[6], cell[7], cell[8]]];
    let m = core.monitor.as_mut().ok_or_else(|| Error::Internal("coverage monitor is off".into()))?;
    let written = m.write_frame(step, c, [origin[0], origin[1], origin[2]], pbc, &keep_ids, &keep_x, &keep_t)?;
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    Ok(format!("llzo_dp coverage: step {step} written: {}\n", names.join(", ")))
}
