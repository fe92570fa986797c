//! The torch device a rank runs on.

use tch::Device;

use crate::error::{Error, Result};
use crate::ffi::sys;
use crate::settings::DeviceChoice;

/// The linker drops libtorch_cuda (nothing names its symbols), and without it libtorch
/// sees no GPU: load it by hand when a GPU may be wanted. Absent on CPU-only installs.
fn load_cuda_backend() {
    // a missing library just means "no CUDA build"
    let _ = sys::load_global(c"libtorch_cuda.so");
}

/// Picks the torch device: CUDA when asked (or `auto` and present), one GPU per rank.
pub fn resolve_device(choice: DeviceChoice, rank: usize) -> Result<Device> {
    if choice != DeviceChoice::Cpu {
        load_cuda_backend();
    }
    let gpus = tch::Cuda::device_count().max(0) as usize;
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto if gpus == 0 => Ok(Device::Cpu),
        DeviceChoice::Auto | DeviceChoice::Cuda(None) if gpus > 0 => Ok(Device::Cuda(rank % gpus)),
        DeviceChoice::Cuda(Some(n)) if n < gpus => Ok(Device::Cuda(n)),
        _ => Err(Error::Input(format!(
            "pair_style llzo_dp: a CUDA device was asked for but libtorch sees {gpus} GPU(s); \
             use 'device cpu' or 'device auto'"
        ))),
    }
}
