//! A frozen DeePMD-kit model (PyTorch backend, TorchScript `.pth`): loading, what it says
//! about itself, and which evaluator runs it, the native one (`native/`) or TorchScript
//! (`torch.rs`). Both take a `StepInput` and fill an `Evaluation` (`step.rs`).


use tch::Device;

use crate::error::{Error, Result};
use crate::settings::{Backend, Precision};

mod device;
pub mod file;
pub mod native;
pub mod step;
mod torch;

pub use device::resolve_device;
pub use native::NativeOptions;
use native::NativeModel;
pub use step::{Evaluation, ModelInfo, StepInput};
use torch::TorchModel;

pub struct Model {
    torch: TorchModel,
    pub info: ModelInfo,
    pub device: Device,
    /// The native evaluator, when the model is in its scope (see `native/`).
    native: Option<NativeModel>,
    /// Which evaluator runs, and why the native one does not when it does not.
    pub backend_note: String,
}

impl Model {
    /// `native`: how the native evaluator runs it (libtorch's thread count is set globally).
    pub fn load(path: &str, device: Device, backend: Backend, native: NativeOptions) -> Result<Model> {
        file::check_path(path)?;
        let torch = TorchModel::load(path, device)?;
        let info = torch.info(path)?;
        let mut model = Model { torch, info, device, native: None, backend_note: String::new() };
        model.check_supported(path)?;
        model.choose_backend(path, backend, native)?;
        Ok(model)
    }

    fn choose_backend(&mut self, path: &str, backend: Backend, opts: NativeOptions) -> Result<()> {
        let native = match (backend, self.device) {
            (Backend::Torch, _) => Err("backend torch was asked for".to_string()),
            (_, Device::Cpu) => match self.torch.definition() {
                Some(def) => NativeModel::load(path, &def, self.info.type_map.len(), opts).map_err(|e| e.to_string()),
                None => Err("the model does not describe itself (get_model_def_script)".to_string()),
            },
            _ => Err("the native evaluator runs on CPU only".to_string()),
        };
        match native {
            Ok(n) => {
                self.backend_note = format!("native evaluator for {} (TorchScript for per-atom virial steps)", n.describe());
                self.native = Some(n);
            }
            Err(why) if backend == Backend::Native => {
                return Err(Error::Model(format!(
                    "'{path}' cannot run with 'backend native': {why}; use 'backend auto' or 'backend torch'"
                )))
            }
            // the graph computes in its own precision: an explicit one would silently not apply
            Err(why) if opts.precision != Precision::Auto => {
                return Err(Error::Model(format!(
                    "'{path}': 'precision' applies to the native evaluator, which does not run this model ({why}); \
                     leave 'precision' out (or 'precision auto') to run it through TorchScript in the precision it was trained in"
                )))
            }
            Err(why) => self.backend_note = format!("TorchScript (native evaluator not used: {why})"),
        }
        Ok(())
    }

    fn check_supported(&self, path: &str) -> Result<()> {
        let i = &self.info;
        if !(i.rcut > 0.0) || i.type_map.is_empty() {
            return Err(Error::Model(format!(
                "'{path}' reports cutoff {} and {} types; not a usable model",
                i.rcut,
                i.type_map.len()
            )));
        }
        Ok(())
    }

    /// The `fparam` / `aparam` values of the pair style against what the model takes
    /// (`get_dim_fparam`, `get_dim_aparam`; frame parameters may be left out when the model
    /// has defaults).
    pub fn check_params(&self, path: &str, fparam: &[f64], aparam: &[f64]) -> Result<()> {
        let i = &self.info;
        let check = |key: &str, what: &str, given: usize, dim: i64, optional: bool| -> Result<()> {
            let dim = dim.max(0) as usize;
            if given == dim || (given == 0 && optional) {
                return Ok(());
            }
            Err(Error::Input(if dim == 0 {
                format!("pair_style llzo_dp: '{key}' is given, but '{path}' takes no {what}; leave '{key}' out")
            } else if given == 0 {
                format!(
                    "pair_style llzo_dp: '{path}' needs {dim} {what}: add '{key}' with {dim} value(s) \
                     to pair_style, as for pair_style deepmd"
                )
            } else {
                format!("pair_style llzo_dp: '{key}' has {given} value(s), but '{path}' takes {dim} {what}")
            }))
        };
        check("fparam", "frame parameters", fparam.len(), i.dim_fparam, i.has_default_fparam)?;
        check("aparam", "atomic parameters", aparam.len(), i.dim_aparam, false)
    }

    /// Where the native evaluator's time went since the last call (empty without it).
    pub fn take_phase_report(&mut self) -> String {
        self.native.as_mut().map(|n| n.take_phase_report()).unwrap_or_default()
    }

    /// Energy, forces and virial of one step: the native evaluator when it holds the model
    /// (and the step needs no per-atom virial), else one `forward_lower` call.
    pub fn evaluate(&mut self, input: &StepInput, atomic_virial: bool, out: &mut Evaluation) -> Result<()> {
        if let Some(n) = self.native.as_mut().filter(|_| !atomic_virial) {
            if n.evaluate(input, out)? {
                return Ok(());
            }
        }
        self.torch.evaluate(input, atomic_virial, out)
    }
}
