//! llzo_dp: run DeePMD-kit (PyTorch backend) models in LAMMPS through libtorch.
//!
//! The Rust core loads the frozen model (`model/`), maps LAMMPS atoms and neighbor lists to
//! the model's inputs and back (`neighbors.rs`, `core.rs`); `ffi/` holds every foreign
//! boundary, `cpp/lammps/` the thin `pair_style llzo_dp` and its registration, `cpp/torch/`
//! the libtorch extensions.

pub mod blas;
pub mod core;
pub mod coverage;
pub mod deviation;
pub mod dot;
pub mod error;
mod ffi;
pub mod frames;
pub mod model;
pub mod neighbors;
pub mod preflight;
pub mod settings;
pub mod step_checks;
pub mod step_record;
pub mod threads;
pub mod timing;
pub mod units;

pub use crate::core::Core;
pub use crate::error::{Error, Result};
