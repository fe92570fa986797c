//! The foreign boundaries, one per foreign world: the LAMMPS pair style's `cxx` bridge
//! (`lammps.rs`, behind the panic guard of `guard.rs`), the torch extensions' bridge
//! (`torch.rs`) and the dynamic linker (`sys.rs`).

mod lammps;
pub mod sys;
pub mod torch;
