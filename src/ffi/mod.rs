//! The foreign boundaries, one per foreign world: the LAMMPS pair style's `cxx` bridge
//! (`lammps.rs`, behind the panic guard of `guard.rs`), the torch extensions' bridge
//! (`torch.rs`), the dynamic linker (`sys.rs`) and the plugin entry point (`plugin.rs`).

mod guard;
mod lammps;
mod plugin;
pub mod sys;
pub mod torch;
