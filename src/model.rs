//! A frozen DeePMD-kit model (PyTorch backend, TorchScript `.pth`) loaded through
//! `tch`: its self-description and one call of `forward_lower`.

use tch::{CModule, Device, IValue, Kind, Tensor};

use crate::custom_ops;
use crate::error::{Error, Result};
use crate::native::NativeModel;
use crate::settings::{Backend, DeviceChoice};

/// What the model says about itself; the pair style takes cutoff and type map from here.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub rcut: f64,
    pub type_map: Vec<String>,
    pub sel: Vec<i64>,
    pub dim_fparam: i64,
    pub dim_aparam: i64,
    pub message_passing: bool,
}

/// The outputs of one evaluation, in model units (eV, Å), for `nall` extended atoms
/// of which the first `nloc` are local. Buffers are reused from step to step.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub energy: f64,
    /// `[nloc]`
    pub atom_energy: Vec<f64>,
    /// `[nall * 3]`, on local and ghost atoms
    pub force: Vec<f64>,
    /// `[9]`, row-major 3×3
    pub virial: [f64; 9],
    /// `[nall * 9]`, only when asked for
    pub atom_virial: Vec<f64>,
}

pub struct Model {
    module: CModule,
    pub info: ModelInfo,
    pub device: Device,
    /// The native evaluator, when the model is in its scope (see `native/`).
    native: Option<NativeModel>,
    /// Which evaluator runs, and why the native one does not when it does not.
    pub backend_note: String,
}

/// One step's model inputs: `coord` `[nall*3]` Å, `atype` `[nall]` model types (and the
/// same as a tensor, kept between list rebuilds), `nlist` `[nloc*width]` extended indices
/// padded with -1.
pub struct StepInput<'a> {
    pub coord: &'a [f64],
    pub atype: &'a [i64],
    pub atype_tensor: &'a Tensor,
    pub nlist: &'a [i64],
    pub nloc: usize,
    pub width: usize,
}

fn method(module: &CModule, name: &str, path: &str) -> Result<IValue> {
    module.method_is::<IValue>(name, &[]).map_err(|e| {
        Error::Model(format!(
            "'{path}' is a TorchScript file but not a DeePMD-kit model: method {name}() failed ({})",
            e.to_string().lines().next().unwrap_or("")
        ))
    })
}

fn as_int(v: IValue, what: &str) -> Result<i64> {
    match v {
        IValue::Int(i) => Ok(i),
        other => Err(Error::Model(format!("{what}() returned {other:?}, expected an integer"))),
    }
}

fn as_strings(v: IValue, what: &str) -> Result<Vec<String>> {
    match v {
        IValue::StringList(s) => Ok(s),
        IValue::GenericList(items) => items
            .into_iter()
            .map(|i| match i {
                IValue::String(s) => Ok(s),
                other => Err(Error::Model(format!("{what}() holds {other:?}, expected strings"))),
            })
            .collect(),
        other => Err(Error::Model(format!("{what}() returned {other:?}, expected a list of strings"))),
    }
}

fn as_ints(v: IValue, what: &str) -> Result<Vec<i64>> {
    match v {
        IValue::IntList(s) => Ok(s),
        IValue::GenericList(items) => items.into_iter().map(|i| as_int(i, what)).collect(),
        other => Err(Error::Model(format!("{what}() returned {other:?}, expected a list of integers"))),
    }
}

extern "C" {
    fn llzo_dp_set_graph_executor_optimize(on: bool) -> bool;
    fn dlopen(filename: *const std::ffi::c_char, flags: std::ffi::c_int) -> *mut std::ffi::c_void;
}

/// The linker drops libtorch_cuda (nothing names its symbols), and without it libtorch
/// sees no GPU: load it by hand when a GPU may be wanted. Absent on CPU-only installs.
fn load_cuda_backend() {
    const RTLD_NOW_GLOBAL: std::ffi::c_int = 0x2 | 0x100;
    // SAFETY: a constant NUL-terminated name; a null result just means "no CUDA build".
    unsafe {
        dlopen(c"libtorch_cuda.so".as_ptr(), RTLD_NOW_GLOBAL);
    }
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

impl Model {
    /// `threads`: the native evaluator's thread count (libtorch's is set globally).
    pub fn load(path: &str, device: Device, backend: Backend, threads: usize) -> Result<Model> {
        crate::model_file::check_path(path)?;
        // The TorchScript graph names deepmd::tabulate_fusion_se_a; it must exist before loading.
        custom_ops::register()?;
        let module = CModule::load_on_device(path, device).map_err(|e| {
            Error::Model(format!(
                "cannot load '{path}' as a TorchScript DeePMD-kit model (PyTorch backend, \
                 made by 'dp --pt freeze'): {}",
                e.to_string().lines().next().unwrap_or("")
            ))
        })?;
        let rcut = match method(&module, "get_rcut", path)? {
            IValue::Double(r) => r,
            other => return Err(Error::Model(format!("get_rcut() returned {other:?}"))),
        };
        let info = ModelInfo {
            rcut,
            type_map: as_strings(method(&module, "get_type_map", path)?, "get_type_map")?,
            sel: as_ints(method(&module, "get_sel", path)?, "get_sel")?,
            dim_fparam: as_int(method(&module, "get_dim_fparam", path)?, "get_dim_fparam")?,
            dim_aparam: as_int(method(&module, "get_dim_aparam", path)?, "get_dim_aparam")?,
            message_passing: matches!(method(&module, "has_message_passing", path)?, IValue::Bool(true)),
        };
        let mut model = Model { module, info, device, native: None, backend_note: String::new() };
        model.check_supported(path)?;
        model.choose_backend(path, backend, threads)?;
        Ok(model)
    }

    fn choose_backend(&mut self, path: &str, backend: Backend, threads: usize) -> Result<()> {
        let native = match (backend, self.device) {
            (Backend::Torch, _) => Err("backend torch was asked for".to_string()),
            (_, Device::Cpu) => match self.module.method_is::<IValue>("get_model_def_script", &[]) {
                Ok(IValue::String(def)) => {
                    NativeModel::load(path, &def, self.info.type_map.len(), threads).map_err(|e| e.to_string())
                }
                _ => Err("the model does not describe itself (get_model_def_script)".to_string()),
            },
            _ => Err("the native evaluator runs on CPU only".to_string()),
        };
        match native {
            Ok(n) => {
                self.backend_note =
                    format!("native evaluator for {} (TorchScript for per-atom virial steps)", n.weights.describe());
                self.native = Some(n);
            }
            Err(why) if backend == Backend::Native => {
                return Err(Error::Model(format!(
                    "'{path}' cannot run with 'backend native': {why}; use 'backend auto' or 'backend torch'"
                )))
            }
            Err(why) => self.backend_note = format!("TorchScript (native evaluator not used: {why})"),
        }
        Ok(())
    }

    fn check_supported(&self, path: &str) -> Result<()> {
        let i = &self.info;
        let refuse = |what: &str| {
            Err(Error::Model(format!("'{path}' {what}, which pair_style llzo_dp cannot run yet")))
        };
        if i.message_passing {
            return refuse("is a message-passing model (needs ghost communication inside the model)");
        }
        if i.dim_fparam > 0 {
            return refuse(&format!("needs {} frame parameters (fparam)", i.dim_fparam));
        }
        if i.dim_aparam > 0 {
            return refuse(&format!("needs {} atomic parameters (aparam)", i.dim_aparam));
        }
        if !(i.rcut > 0.0) || i.type_map.is_empty() {
            return Err(Error::Model(format!(
                "'{path}' reports cutoff {} and {} types; not a usable model",
                i.rcut,
                i.type_map.len()
            )));
        }
        Ok(())
    }

    /// Where the native evaluator's time went since the last call (empty without it).
    pub fn take_phase_report(&mut self) -> String {
        self.native.as_mut().map(|n| n.take_phase_report()).unwrap_or_default()
    }

    /// Energy, forces and virial of one step: the native evaluator when it holds the model
    /// (and the step needs no per-atom virial), else one `forward_lower` call.
    pub fn evaluate(&mut self, input: &StepInput, atomic_virial: bool, out: &mut Evaluation) -> Result<()> {
        if let Some(n) = self.native.as_mut().filter(|_| !atomic_virial) {
            if n.evaluate(input.coord, input.atype, input.nlist, input.nloc, input.width, out)? {
                return Ok(());
            }
        }
        let nlist = Tensor::f_from_slice(input.nlist)?
            .f_view([1, input.nloc as i64, input.width as i64])?
            .f_to_device(self.device)?;
        self.forward_lower(input.coord, input.atype_tensor, &nlist, atomic_virial, out)
    }

    /// One `forward_lower` call. `coord` is `[nall*3]` Å, `atype` `[nall]` model types,
    /// `nlist` `[nloc*nnei]` extended indices padded with -1.
    pub fn forward_lower(
        &self,
        coord: &[f64],
        atype: &Tensor,
        nlist: &Tensor,
        atomic_virial: bool,
        out: &mut Evaluation,
    ) -> Result<()> {
        let nall = coord.len() / 3;
        let coord = Tensor::f_from_slice(coord)?.f_view([1, nall as i64, 3])?.f_to_device(self.device)?;
        let args = [
            IValue::Tensor(coord),
            IValue::Tensor(atype.shallow_clone()),
            IValue::Tensor(nlist.shallow_clone()),
            IValue::None,
            IValue::None,
            IValue::None,
            IValue::Bool(atomic_virial),
        ];
        // The optimising graph executor profiles the first calls (1-2 s each) and is slower
        // afterwards for these graphs (measured: 42 ms vs 65 ms per 192-atom call); run our
        // calls without it and restore the thread's setting for anyone else.
        // SAFETY: plain flag setter in cpp/jit_settings.cpp.
        let old = unsafe { llzo_dp_set_graph_executor_optimize(false) };
        let result = self.module.method_is("forward_lower", &args);
        // SAFETY: as above.
        unsafe { llzo_dp_set_graph_executor_optimize(old) };
        let result = result?;
        let IValue::GenericDict(entries) = result else {
            return Err(Error::Model(format!("forward_lower returned {result:?}, expected a dict")));
        };
        let take = |key: &str, dst: &mut Vec<f64>| -> Result<()> {
            let t = entries
                .iter()
                .find_map(|(k, v)| match (k, v) {
                    (IValue::String(s), IValue::Tensor(t)) if s == key => Some(t),
                    _ => None,
                })
                .ok_or_else(|| Error::Model(format!("forward_lower output lacks '{key}'")))?;
            let t = t.f_to_device(Device::Cpu)?.f_to_kind(Kind::Double)?.f_contiguous()?;
            let n = t.numel();
            dst.resize(n, 0.0);
            t.f_copy_data(dst.as_mut_slice(), n)?;
            Ok(())
        };
        let mut scalar = Vec::with_capacity(9);
        take("energy", &mut scalar)?;
        out.energy = scalar.first().copied().unwrap_or(0.0);
        take("atom_energy", &mut out.atom_energy)?;
        take("extended_force", &mut out.force)?;
        take("virial", &mut scalar)?;
        if scalar.len() != 9 || out.force.len() != nall * 3 {
            return Err(Error::Internal(format!(
                "unexpected output sizes: virial {}, force {} for {nall} atoms",
                scalar.len(),
                out.force.len()
            )));
        }
        out.virial.copy_from_slice(&scalar);
        if atomic_virial {
            take("extended_virial", &mut out.atom_virial)?;
        }
        Ok(())
    }
}
