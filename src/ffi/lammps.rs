//! The `cxx` bridge between the C++ pair style (`cpp/lammps/`) and the Rust core: methods
//! on `Core` and nothing else. Every call runs behind the panic guard and returns
//! `Result`, which `cxx` turns into a C++ `rust::Error` exception; the pair style reports
//! it through LAMMPS's `error`.

use super::guard::{debug_panic, guard};
use crate::core::{AtomOutputs, Core};
use crate::error::Result;
use crate::neighbors::LammpsList;

#[cxx::bridge(namespace = "llzo_dp")]
mod bridge {
    /// `core::StepTotals` as C++ sees it (a shared struct is declared inside its bridge):
    /// energy and virial (xx yy zz xy xz yz) of one step on this rank, LAMMPS units.
    struct StepTotals {
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

        /// `pair_style llzo_dp` arguments (after the style name), `update->unit_style` with
        /// its `force->boltz` and `force->angstrom`, the MPI rank and LAMMPS's OpenMP thread
        /// count (`comm->nthreads`).
        fn new_core(args: Vec<String>, unit_style: &str, boltz: f64, angstrom: f64, rank: i32, nthreads: i32) -> Result<Box<Core>>;
        /// One line for the LAMMPS log: model, type map, cutoff, device, threads.
        #[cxx_name = "summary"]
        fn lmp_summary(self: &Core) -> Result<String>;
        /// Model cutoff in LAMMPS length units.
        #[cxx_name = "cutoff"]
        fn lmp_cutoff(self: &Core) -> Result<f64>;
        /// `pair_coeff * *` names (one per LAMMPS type or NULL) for `ntypes` types.
        #[cxx_name = "set_type_names"]
        fn lmp_set_type_names(self: &mut Core, names: Vec<String>, ntypes: i32) -> Result<()>;
        /// Start of a run (`init_style`): the type -> element map for the log; `masses`
        /// per LAMMPS type (empty with per-atom masses) for the repeated-element warning.
        #[cxx_name = "start_run"]
        fn lmp_start_run(self: &mut Core, masses: &[f64]) -> Result<String>;
        /// Message-passing models on `nprocs` ranks: the pair style's `GhostExchange`
        /// (`cpp/ghost_exchange.h`) at `address`. Returns the values per atom of one
        /// forward or reverse communication of features, 0 when no model needs it.
        #[cxx_name = "enable_ghost_exchange"]
        fn lmp_enable_ghost_exchange(self: &mut Core, address: usize, nprocs: i32) -> Result<i32>;
        /// Refuses frame formats that cannot hold this box (`periodic`: x, y, z flags).
        #[cxx_name = "check_boundary"]
        fn lmp_check_boundary(self: &Core, periodic: &[i32]) -> Result<()>;
        /// Lines for the LAMMPS log gathered since the last call (rank 0 prints them).
        #[cxx_name = "take_messages"]
        fn lmp_take_messages(self: &mut Core) -> Result<Vec<String>>;
        /// Warnings gathered since the last call, for `error->warning`.
        #[cxx_name = "take_warnings"]
        fn lmp_take_warnings(self: &mut Core) -> Result<Vec<String>>;
        /// Called when LAMMPS has rebuilt its full list, packed as compressed rows.
        #[cxx_name = "rebuild_neighbors"]
        fn lmp_rebuild_neighbors(
            self: &mut Core,
            nlocal: i32,
            nghost: i32,
            types: &[i32],
            ilist: &[i32],
            offsets: &[i32],
            neighbors: &[i32],
        ) -> Result<()>;
        /// One step; `tags` are the atom IDs `[nall]` (for messages). Empty
        /// `eatom`/`vatom`/`cvatom` slices mean "not requested".
        #[cxx_name = "compute"]
        fn lmp_compute(
            self: &mut Core,
            step: i64,
            x: &[f64],
            tags: &[i32],
            f: &mut [f64],
            eatom: &mut [f64],
            vatom: &mut [f64],
            cvatom: &mut [f64],
        ) -> Result<StepTotals>;
        /// Time per phase of the steps since the last call, one log line (empty if none ran).
        #[cxx_name = "timing_report"]
        fn lmp_timing_report(self: &mut Core) -> Result<String>;

        /// Model deviation: values per atom in the reverse communication (3 × models), 0 if off.
        #[cxx_name = "devi_width"]
        fn lmp_devi_width(self: &Core) -> Result<i32>;
        /// Whether this step writes a model deviation line (reverse comm + reductions follow).
        #[cxx_name = "devi_due"]
        fn lmp_devi_due(self: &Core, step: i64) -> Result<bool>;
        /// `[nall][width]` forces of every model, LAMMPS-indexed, for the reverse communication.
        #[cxx_name = "devi_forces"]
        fn lmp_devi_forces(self: &mut Core) -> Result<&mut [f64]>;
        /// This rank's partials over owned atoms of mapped types (`types` of the owned
        /// atoms): [max ε, min ε, sum ε, count, virials...].
        #[cxx_name = "devi_partials"]
        fn lmp_devi_partials(self: &mut Core, types: &[i32]) -> Result<Vec<f64>>;
        /// Whether out_file has a column per atom (`atomic`): then every rank sends its
        /// atom IDs and `devi_atom_values` to rank 0 for `devi_write`.
        #[cxx_name = "devi_atomic"]
        fn lmp_devi_atomic(self: &Core) -> Result<bool>;
        /// The deviation of each owned atom, from the last `devi_partials`.
        #[cxx_name = "devi_atom_values"]
        fn lmp_devi_atom_values(self: &Core) -> Result<&[f64]>;
        /// Rank 0, after reducing the partials (max, min, then sums): writes the line;
        /// `ids` and `atom_values` of all atoms with `atomic`, else empty.
        #[cxx_name = "devi_write"]
        fn lmp_devi_write(self: &mut Core, step: i64, reduced: &[f64], natoms: f64, ids: &[i32], atom_values: &[f64]) -> Result<()>;

        /// Number of monitor values for `compute pair` (overall + one per element), 0 if off.
        #[cxx_name = "coverage_nvalues"]
        fn lmp_coverage_nvalues(self: &Core) -> Result<i32>;
        /// Whether the monitor evaluated this step (then the reductions below follow).
        #[cxx_name = "coverage_due"]
        fn lmp_coverage_due(self: &Core, step: i64) -> Result<bool>;
        /// This rank's occupancy bitmaps: reduce in place with bitwise OR over ranks.
        #[cxx_name = "coverage_bits"]
        fn lmp_coverage_bits(self: &mut Core) -> Result<&mut [u64]>;
        /// This rank's counts: reduce in place with a sum over ranks.
        #[cxx_name = "coverage_counts"]
        fn lmp_coverage_counts(self: &mut Core) -> Result<&mut [u64]>;
        /// After the reductions: frame coverage, dump decision; rank 0 appends the CSV.
        #[cxx_name = "coverage_finish"]
        fn lmp_coverage_finish(self: &mut Core, step: i64, rank0: bool) -> Result<CoverageVerdict>;
        /// Overall coverage then per element (NaN when absent), for `compute pair`.
        #[cxx_name = "coverage_values"]
        fn lmp_coverage_values(self: &Core, out: &mut [f64]) -> Result<()>;
        /// Per-atom coverage (LAMMPS-indexed owned atoms; -1 where not monitored).
        #[cxx_name = "atom_coverage"]
        fn lmp_atom_coverage(self: &Core, out: &mut [f64]) -> Result<()>;
        /// Rank 0: writes the gathered frame, then its CSV row; `cell` a,b,c rows (9),
        /// `origin` (3), `periodic` x, y, z flags (3).
        #[cxx_name = "coverage_write_frame"]
        fn lmp_coverage_write_frame(
            self: &mut Core,
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

use bridge::{CoverageVerdict, StepTotals};

/// LAMMPS's counts arrive as `int`; a negative one is treated as zero.
fn count(n: i32) -> usize {
    n.max(0) as usize
}

fn new_core(args: Vec<String>, unit_style: &str, boltz: f64, angstrom: f64, rank: i32, nthreads: i32) -> Result<Box<Core>> {
    guard("new_core", || Core::new(&args, unit_style, boltz, angstrom, count(rank), count(nthreads).max(1)).map(Box::new))
}

impl Core {
    fn lmp_summary(&self) -> Result<String> {
        guard("summary", || Ok(self.summary()))
    }

    fn lmp_cutoff(&self) -> Result<f64> {
        guard("cutoff", || Ok(self.cutoff()))
    }

    fn lmp_set_type_names(&mut self, names: Vec<String>, ntypes: i32) -> Result<()> {
        guard("set_type_names", || self.set_type_names(&names, count(ntypes)))
    }

    fn lmp_start_run(&mut self, masses: &[f64]) -> Result<String> {
        guard("start_run", || Ok(self.start_run(masses)))
    }

    fn lmp_enable_ghost_exchange(&mut self, address: usize, nprocs: i32) -> Result<i32> {
        guard("enable_ghost_exchange", || Ok(self.enable_ghost_exchange(address as i64, count(nprocs))? as i32))
    }

    fn lmp_check_boundary(&self, periodic: &[i32]) -> Result<()> {
        guard("check_boundary", || self.check_boundary(periodic))
    }

    fn lmp_take_messages(&mut self) -> Result<Vec<String>> {
        guard("take_messages", || Ok(self.take_messages()))
    }

    fn lmp_take_warnings(&mut self) -> Result<Vec<String>> {
        guard("take_warnings", || Ok(self.take_warnings()))
    }

    #[allow(clippy::too_many_arguments)]
    fn lmp_rebuild_neighbors(
        &mut self,
        nlocal: i32,
        nghost: i32,
        types: &[i32],
        ilist: &[i32],
        offsets: &[i32],
        neighbors: &[i32],
    ) -> Result<()> {
        let list = LammpsList { nlocal: count(nlocal), nghost: count(nghost), types, ilist, offsets, neighbors };
        guard("rebuild_neighbors", || self.rebuild_neighbors(&list))
    }

    #[allow(clippy::too_many_arguments)]
    fn lmp_compute(
        &mut self,
        step: i64,
        x: &[f64],
        tags: &[i32],
        f: &mut [f64],
        eatom: &mut [f64],
        vatom: &mut [f64],
        cvatom: &mut [f64],
    ) -> Result<StepTotals> {
        guard("compute", || {
            debug_panic("compute");
            let out = AtomOutputs { force: f, energy: eatom, virial: vatom, centroid_virial: cvatom };
            let t = self.compute(step, x, tags, out)?;
            Ok(StepTotals { energy: t.energy, virial: t.virial })
        })
    }

    fn lmp_timing_report(&mut self) -> Result<String> {
        guard("timing_report", || Ok(self.timing_report()))
    }

    fn lmp_devi_width(&self) -> Result<i32> {
        guard("devi_width", || Ok(self.deviation_width() as i32))
    }

    fn lmp_devi_due(&self, step: i64) -> Result<bool> {
        guard("devi_due", || Ok(self.deviation_due(step)))
    }

    fn lmp_devi_forces(&mut self) -> Result<&mut [f64]> {
        guard("devi_forces", || Ok(self.deviation_forces()))
    }

    fn lmp_devi_partials(&mut self, types: &[i32]) -> Result<Vec<f64>> {
        guard("devi_partials", || Ok(self.deviation_partials(types)))
    }

    fn lmp_devi_atomic(&self) -> Result<bool> {
        guard("devi_atomic", || Ok(self.deviation_atomic()))
    }

    fn lmp_devi_atom_values(&self) -> Result<&[f64]> {
        guard("devi_atom_values", || Ok(self.deviation_atom_values()))
    }

    fn lmp_devi_write(&mut self, step: i64, reduced: &[f64], natoms: f64, ids: &[i32], atom_values: &[f64]) -> Result<()> {
        guard("devi_write", || self.write_deviation(step, reduced, natoms, ids, atom_values))
    }

    fn lmp_coverage_nvalues(&self) -> Result<i32> {
        guard("coverage_nvalues", || Ok(self.coverage_nvalues() as i32))
    }

    fn lmp_coverage_due(&self, step: i64) -> Result<bool> {
        guard("coverage_due", || Ok(self.coverage_due(step)))
    }

    fn lmp_coverage_bits(&mut self) -> Result<&mut [u64]> {
        guard("coverage_bits", || Ok(self.coverage_bits()))
    }

    fn lmp_coverage_counts(&mut self) -> Result<&mut [u64]> {
        guard("coverage_counts", || Ok(self.coverage_counts()))
    }

    fn lmp_coverage_finish(&mut self, step: i64, rank0: bool) -> Result<CoverageVerdict> {
        guard("coverage_finish", || {
            let (dump, message) = self.finish_coverage(step, rank0)?;
            Ok(CoverageVerdict { dump, message })
        })
    }

    fn lmp_coverage_values(&self, out: &mut [f64]) -> Result<()> {
        guard("coverage_values", || Ok(self.coverage_values(out)))
    }

    fn lmp_atom_coverage(&self, out: &mut [f64]) -> Result<()> {
        guard("atom_coverage", || Ok(self.atom_coverage(out)))
    }

    #[allow(clippy::too_many_arguments)]
    fn lmp_coverage_write_frame(
        &mut self,
        step: i64,
        cell: &[f64],
        origin: &[f64],
        periodic: &[i32],
        ids: &[i32],
        lammps_types: &[i32],
        coords: &[f64],
    ) -> Result<String> {
        guard("coverage_write_frame", || self.write_coverage_frame(step, cell, origin, periodic, ids, lammps_types, coords))
    }
}
