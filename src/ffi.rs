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
            x: &[f64],
            f: &mut [f64],
            eatom: &mut [f64],
            vatom: &mut [f64],
            cvatom: &mut [f64],
        ) -> Result<StepEnergy>;
    }
}

use bridge::StepEnergy;

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
    t > 0 && core.maps_type(t as usize)
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
    x: &[f64],
    f: &mut [f64],
    eatom: &mut [f64],
    vatom: &mut [f64],
    cvatom: &mut [f64],
) -> Result<StepEnergy> {
    let out = AtomOutputs { force: f, energy: eatom, virial: vatom, centroid_virial: cvatom };
    let t = core.compute(x, out)?;
    Ok(StepEnergy { energy: t.energy, virial: t.virial })
}
