//! The TorchScript evaluator: a frozen DeePMD-kit model (PyTorch backend, `.pth`) loaded
//! through `tch`, its self-description, and one call of `forward_lower` per step.

use tch::{CModule, Device, IValue, Kind, Tensor};

use super::step::{Evaluation, ModelInfo, StepInput};
use crate::error::{Error, Result};
use crate::ffi::torch as ext;

pub struct TorchModel {
    module: CModule,
    device: Device,
    /// The atom types as a tensor on the device, rebuilt only when they change (that is,
    /// when LAMMPS rebuilds its neighbor list).
    atype: Option<(Vec<i64>, Tensor)>,
}

fn method(module: &CModule, name: &str, path: &str) -> Result<IValue> {
    module.method_is::<IValue>(name, &[]).map_err(|e| {
        Error::Model(format!(
            "'{path}' is a TorchScript file but not a DeePMD-kit model: method {name}() failed ({})",
            e.to_string().lines().next().unwrap_or("")
        ))
    })
}

/// A yes/no method that older graphs may lack (absent = no).
fn flag(module: &CModule, name: &str) -> bool {
    matches!(module.method_is::<IValue>(name, &[]), Ok(IValue::Bool(true)))
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

/// The named tensor `key` of a `forward_lower` result, copied into `dst` as float64.
fn take(entries: &[(IValue, IValue)], key: &str, dst: &mut Vec<f64>) -> Result<()> {
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
}

impl TorchModel {
    /// Loads `path` on `device`; the file is known to exist.
    pub fn load(path: &str, device: Device) -> Result<TorchModel> {
        // The TorchScript graph names deepmd::tabulate_fusion_se_a; it must exist before loading.
        ext::register_deepmd_ops()?;
        let module = CModule::load_on_device(path, device).map_err(|e| {
            Error::Model(format!(
                "cannot load '{path}' as a TorchScript DeePMD-kit model (PyTorch backend, \
                 made by 'dp --pt freeze'): {}",
                load_failure_reason(&e.to_string())
            ))
        })?;
        Ok(TorchModel { module, device, atype: None })
    }

    /// The model's self-description (`get_rcut`, `get_type_map`, ...).
    pub fn info(&self, path: &str) -> Result<ModelInfo> {
        let m = &self.module;
        let rcut = match method(m, "get_rcut", path)? {
            IValue::Double(r) => r,
            other => return Err(Error::Model(format!("get_rcut() returned {other:?}"))),
        };
        Ok(ModelInfo {
            rcut,
            type_map: as_strings(method(m, "get_type_map", path)?, "get_type_map")?,
            sel: as_ints(method(m, "get_sel", path)?, "get_sel")?,
            dim_fparam: as_int(method(m, "get_dim_fparam", path)?, "get_dim_fparam")?,
            dim_aparam: as_int(method(m, "get_dim_aparam", path)?, "get_dim_aparam")?,
            message_passing: matches!(method(m, "has_message_passing", path)?, IValue::Bool(true)),
            // absent from older graphs, which sort only rows wider than Σsel
            sorts_nlist: flag(m, "need_sorted_nlist_for_lower"),
            has_default_fparam: flag(m, "has_default_fparam"),
            aparam_nall: flag(m, "is_aparam_nall"),
        })
    }

    /// The model's definition JSON (`get_model_def_script`), if it has one.
    pub fn definition(&self) -> Option<String> {
        match self.module.method_is::<IValue>("get_model_def_script", &[]) {
            Ok(IValue::String(def)) => Some(def),
            _ => None,
        }
    }

    fn atype_tensor(&mut self, atype: &[i64]) -> Result<Tensor> {
        if let Some((cached, t)) = &self.atype {
            if cached.as_slice() == atype {
                return Ok(t.shallow_clone());
            }
        }
        let t = Tensor::f_from_slice(atype)?.f_view([1, atype.len() as i64])?.f_to_device(self.device)?;
        self.atype = Some((atype.to_vec(), t.shallow_clone()));
        Ok(t)
    }

    /// Frame or atomic parameters as a float64 tensor of `shape`, or None when there are none.
    fn params(&self, values: &[f64], shape: &[i64]) -> Result<IValue> {
        if values.is_empty() {
            return Ok(IValue::None);
        }
        Ok(IValue::Tensor(Tensor::f_from_slice(values)?.f_view(shape)?.f_to_device(self.device)?))
    }

    /// One `forward_lower` call.
    pub fn evaluate(&mut self, input: &StepInput, atomic_virial: bool, out: &mut Evaluation) -> Result<()> {
        let nall = input.nall();
        let atype = self.atype_tensor(input.atype)?;
        let nlist = Tensor::f_from_slice(input.graph_nlist)?
            .f_view([1, input.nloc as i64, input.graph_width as i64])?
            .f_to_device(self.device)?;
        let coord = Tensor::f_from_slice(input.coord)?.f_view([1, nall as i64, 3])?.f_to_device(self.device)?;
        // message passing on one rank: each ghost takes its local atom's features by `mapping`;
        // on several, through border_op and the pair style's exchange
        let mapping = match input.mapping {
            [] => IValue::None,
            m => IValue::Tensor(Tensor::f_from_slice(m)?.f_view([1, nall as i64])?.f_to_device(self.device)?),
        };
        let comm_dict = match input.ghost_exchange {
            Some(address) => comm_dict(address)?,
            None => IValue::None,
        };
        let fparam = self.params(input.fparam, &[1, input.fparam.len() as i64])?;
        let dim = input.aparam_dim.max(1);
        let aparam = self.params(input.aparam, &[1, (input.aparam.len() / dim) as i64, dim as i64])?;
        let args = [
            IValue::Tensor(coord),
            IValue::Tensor(atype),
            IValue::Tensor(nlist),
            mapping,
            fparam,
            aparam,
            IValue::Bool(atomic_virial),
            comm_dict,
        ];
        // The optimising graph executor profiles the first calls (1-2 s each) and is slower
        // afterwards for these graphs (measured: 42 ms vs 65 ms per 192-atom call); run our
        // calls without it and restore the thread's setting for anyone else.
        let old = ext::set_graph_executor_optimize(false);
        let result = self.module.method_is("forward_lower", &args);
        ext::set_graph_executor_optimize(old);
        let result = result?;
        let IValue::GenericDict(entries) = result else {
            return Err(Error::Model(format!("forward_lower returned {result:?}, expected a dict")));
        };
        let mut scalar = Vec::with_capacity(9);
        take(&entries, "energy", &mut scalar)?;
        out.energy = scalar.first().copied().unwrap_or(0.0);
        take(&entries, "atom_energy", &mut out.atom_energy)?;
        take(&entries, "extended_force", &mut out.force)?;
        take(&entries, "virial", &mut scalar)?;
        if scalar.len() != 9 || out.force.len() != nall * 3 {
            return Err(Error::Internal(format!(
                "unexpected output sizes: virial {}, force {} for {nall} atoms",
                scalar.len(),
                out.force.len()
            )));
        }
        out.virial.copy_from_slice(&scalar);
        if atomic_virial {
            take(&entries, "extended_virial", &mut out.atom_virial)?;
        }
        Ok(())
    }
}

/// `forward_lower`'s `comm_dict` for the plugin's own `deepmd::border_op`: the exchange's
/// address as `communicator` (see `cpp/ghost_exchange.h`); the entries the graph asserts but
/// only DeePMD-kit's operator reads stay empty.
fn comm_dict(address: i64) -> Result<IValue> {
    let empty = || -> Result<IValue> { Ok(IValue::Tensor(Tensor::f_zeros([0], (Kind::Int, Device::Cpu))?)) };
    let mut entries = Vec::with_capacity(6);
    for key in ["send_list", "send_proc", "recv_proc", "send_num", "recv_num"] {
        entries.push((IValue::String(key.into()), empty()?));
    }
    entries.push((IValue::String("communicator".into()), IValue::Tensor(Tensor::f_from_slice(&[address])?)));
    Ok(IValue::GenericDict(entries))
}

/// The cause in libtorch's multi-line load error: a custom operator the plugin does not
/// provide (DeePMD-kit descriptors each reference their own), or else its first non-empty line.
fn load_failure_reason(message: &str) -> String {
    let lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let meaningful: Vec<&str> = lines.filter(|l| l.trim_end_matches(':') != "Internal torch error").collect();
    if let Some(op) = meaningful.iter().find_map(|l| l.strip_prefix("Unknown builtin op:")) {
        let op = op.trim().trim_end_matches('.');
        return format!(
            "the model calls the custom operator {op}, which llzo_dp does not provide (it provides \
             DeePMD-kit 3.2's table operators deepmd::tabulate_fusion_se_a, _se_atten, _se_r, _se_t \
             and _se_t_tebd, and deepmd::border_op for message passing); run \
             this model with pair_style deepmd"
        );
    }
    meaningful.first().map_or_else(|| "libtorch gave no reason".to_string(), |l| l.to_string())
}

#[cfg(test)]
mod load_failure_tests {
    use super::load_failure_reason;

    #[test]
    fn names_the_missing_operator() {
        // libtorch's message for a graph that names an operator the plugin does not register
        let msg = "Internal torch error: \nUnknown builtin op: deepmd::spin_op.\n\
                   Could not find any similar ops to deepmd::spin_op.\n:\n  File \"code/x.py\"";
        let r = load_failure_reason(msg);
        assert!(r.contains("custom operator deepmd::spin_op,"), "{r}");
        assert_eq!(load_failure_reason("Internal torch error: \nPytorchStreamReader failed"),
                   "PytorchStreamReader failed");
    }
}
