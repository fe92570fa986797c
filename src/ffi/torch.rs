//! The second `cxx` bridge: the libtorch C++ API that `tch` does not expose (`cpp/torch/`).
//!
//! - DeePMD-kit's custom operators: every frozen se_e2_a model names
//!   `deepmd::tabulate_fusion_se_a` in its graph, so `torch.jit.load` needs the schema
//!   registered even when the op is never called (only compressed models call it). The
//!   registration is skipped when DeePMD-kit's own op library is already loaded.
//! - `deepmd::border_op` (`cpp/torch/border_op.cpp`), with which message-passing models
//!   exchange features between MPI ranks through the pair style's `GhostExchange`.
//! - The named parameters and buffers of a module (tch exposes parameters only; the
//!   descriptor statistics and energy biases are buffers), for the native evaluator.
//! - The graph executor's optimisation flag.
//!
//! C++ exceptions arrive as `Err`; nothing here calls back into Rust.

use crate::error::{Error, Result};

#[cxx::bridge(namespace = "llzo_dp::torch_ext")]
mod bridge {
    /// One parameter or buffer of a module, as float64 in C order; `dtype` is what the
    /// module holds ("Double", "Float", "Long", ...).
    struct NamedTensor {
        name: String,
        dtype: String,
        shape: Vec<i64>,
        values: Vec<f64>,
    }

    unsafe extern "C++" {
        include!("llzo_dp/cpp/torch/extensions.h");

        /// Registers DeePMD-kit's table operators (`deepmd::tabulate_fusion_se_a`, `_se_t`,
        /// `_se_r`, `_se_atten`, `_se_t_tebd`) and `border_op`, kernels included, once per process.
        fn register_deepmd_ops() -> Result<()>;
        /// Whether `deepmd::border_op` is the plugin's (after registering): false when
        /// DeePMD-kit's op library, loaded first in the process, owns the operators.
        fn plugin_provides_border_op() -> Result<bool>;
        /// Every named parameter and buffer of the TorchScript module at `path`.
        fn module_tensors(path: &str) -> Result<Vec<NamedTensor>>;
        /// Sets the calling thread's graph-executor optimisation flag; returns the old one.
        fn set_graph_executor_optimize(on: bool) -> bool;
    }
}

pub use bridge::NamedTensor;

pub fn register_deepmd_ops() -> Result<()> {
    bridge::register_deepmd_ops().map_err(|e| Error::Torch(format!("registering deepmd custom ops failed: {}", e.what())))
}

pub fn plugin_provides_border_op() -> Result<bool> {
    bridge::plugin_provides_border_op().map_err(|e| Error::Torch(format!("registering deepmd custom ops failed: {}", e.what())))
}

pub fn module_tensors(path: &str) -> Result<Vec<NamedTensor>> {
    bridge::module_tensors(path).map_err(|e| Error::Model(format!("reading the weights of '{path}': {}", e.what())))
}

pub fn set_graph_executor_optimize(on: bool) -> bool {
    bridge::set_graph_executor_optimize(on)
}
