//! The foreign boundaries: the LAMMPS pair style's `cxx` bridge and the torch extensions.

mod lammps;
pub mod torch;
