//! The entry point LAMMPS looks up after `dlopen` (`plugin load libllzo_dp.so`). It lives
//! on the Rust side because a cdylib exports only Rust's `#[no_mangle]` symbols; the
//! registration itself (`cpp/lammps/plugin.cpp`) fills LAMMPS's `lammpsplugin_t`.

use std::ffi::c_void;

extern "C" {
    fn llzo_dp_plugin_register(lmp: *mut c_void, handle: *mut c_void, regfunc: *mut c_void);
}

/// # Safety
/// Called by LAMMPS with its own pointers; they are passed through untouched.
#[no_mangle]
pub unsafe extern "C" fn lammpsplugin_init(lmp: *mut c_void, handle: *mut c_void, regfunc: *mut c_void) {
    // SAFETY: the C++ registration takes exactly the pointers LAMMPS gave; it throws nothing.
    unsafe { llzo_dp_plugin_register(lmp, handle, regfunc) };
}
