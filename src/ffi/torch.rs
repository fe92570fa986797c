//! Custom TorchScript operators that DeePMD-kit models reference by name.
//!
//! Every frozen se_e2_a model names `deepmd::tabulate_fusion_se_a` in its graph, so
//! `torch.jit.load` needs the schema registered even when the op is never called
//! (only compressed models call it). The registration lives in `cpp/custom_ops.cpp`
//! (it needs libtorch's C++ API); it is skipped when DeePMD-kit's own op library is
//! already loaded in the process.

use std::ffi::{c_char, c_int, CStr};

use crate::error::{Error, Result};

extern "C" {
    fn llzo_dp_register_deepmd_ops(message: *mut c_char, capacity: usize) -> c_int;
}

pub fn register() -> Result<()> {
    let mut buf = [0 as c_char; 512];
    // SAFETY: the C++ side writes at most `capacity` bytes, NUL-terminated.
    let status = unsafe { llzo_dp_register_deepmd_ops(buf.as_mut_ptr(), buf.len()) };
    if status == 0 {
        return Ok(());
    }
    // SAFETY: NUL-terminated by the C++ side (buffer zero-initialised).
    let msg = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
    Err(Error::Torch(format!("registering deepmd custom ops failed: {msg}")))
}
