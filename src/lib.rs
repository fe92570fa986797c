//! llzo_dp: run DeePMD-kit (PyTorch backend) models in LAMMPS through libtorch.
//!
//! The Rust core loads the frozen model, maps LAMMPS atoms and neighbor lists to the
//! model's inputs and back; `cpp/` holds the thin `pair_style llzo_dp` and
//! `lammps-plugin/` the registration that LAMMPS's `plugin load` calls.

pub mod blas;
pub mod core;
pub mod coverage;
pub mod custom_ops;
pub mod deviation;
pub mod dump;
pub mod error;
mod ffi;
pub mod frame_leftovers;
pub mod model;
pub mod monitor;
pub mod native;
pub mod neighbors;
pub mod settings;
pub mod step_checks;
pub mod step_record;
pub mod timing;
pub mod units;

pub use crate::core::Core;
pub use crate::error::{Error, Result};

use std::ffi::c_void;

extern "C" {
    fn llzo_dp_plugin_register(lmp: *mut c_void, handle: *mut c_void, regfunc: *mut c_void);
}

/// The entry point LAMMPS looks up after `dlopen` (`plugin load libllzo_dp.so`). It lives
/// on the Rust side because a cdylib exports only Rust's `#[no_mangle]` symbols.
///
/// # Safety
/// Called by LAMMPS with its own pointers; they are passed through untouched.
#[no_mangle]
pub unsafe extern "C" fn lammpsplugin_init(lmp: *mut c_void, handle: *mut c_void, regfunc: *mut c_void) {
    llzo_dp_plugin_register(lmp, handle, regfunc);
}
