//! `pair_style llzo_dp` and `pair_coeff` arguments, parsed and checked here so the
//! C++ side stays a recipe and every rule is unit-tested.
//!
//! ```text
//! pair_style llzo_dp model.pth [more.pth ...] [keyword value ...]
//!   device  auto | cpu | cuda | cuda:N   (auto: CUDA when present, one GPU per rank)
//!   threads N                            (intra-op threads per rank; default: LAMMPS's OpenMP threads)
//! pair_coeff * * Li La Zr O              (one element or NULL per LAMMPS atom type)
//! ```

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA when libtorch sees a GPU (the rank picks `rank % count`), else CPU.
    Auto,
    Cpu,
    /// A CUDA device; `None` = the rank's share of the visible GPUs.
    Cuda(Option<usize>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PairSettings {
    pub models: Vec<String>,
    pub device: DeviceChoice,
    /// Intra-op threads per rank; 0 = LAMMPS's own thread count (OMP_NUM_THREADS, `package omp`).
    pub threads: usize,
}

const KEYWORDS: &[&str] = &["device", "threads"];

fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

fn value_of<'a>(args: &'a [String], i: usize, keyword: &str, expects: &str) -> Result<&'a str> {
    args.get(i + 1).map(String::as_str).ok_or_else(|| {
        Error::Input(format!("pair_style llzo_dp: keyword '{keyword}' needs a value ({expects})"))
    })
}

impl PairSettings {
    pub fn parse(args: &[String]) -> Result<PairSettings> {
        // The first argument is always a model; more models follow while they look like
        // model files, so a misspelt keyword is reported as such, not as a model path.
        let looks_like_model = |a: &str| [".pth", ".pt", ".pb"].iter().any(|ext| a.ends_with(ext));
        let n_models = match args.first() {
            Some(first) if !is_keyword(first) => {
                1 + args[1..].iter().take_while(|a| !is_keyword(a) && looks_like_model(a)).count()
            }
            _ => 0,
        };
        if n_models == 0 {
            return Err(Error::Input(
                "pair_style llzo_dp needs a model file first: pair_style llzo_dp model.pth [keyword value ...]"
                    .into(),
            ));
        }
        let models: Vec<String> = args[..n_models].to_vec();
        let mut s = PairSettings { models, device: DeviceChoice::Auto, threads: 0 };
        let mut i = n_models;
        while i < args.len() {
            let key = args[i].as_str();
            match key {
                "device" => {
                    let v = value_of(args, i, key, "auto, cpu, cuda or cuda:N")?;
                    s.device = parse_device(v)?;
                }
                "threads" => {
                    let v = value_of(args, i, key, "a non-negative integer")?;
                    s.threads = v.parse::<usize>().map_err(|_| {
                        Error::Input(format!(
                            "pair_style llzo_dp: 'threads' expects a non-negative integer, got '{v}'"
                        ))
                    })?;
                }
                other => {
                    return Err(Error::Input(format!(
                        "pair_style llzo_dp: unknown keyword '{other}'; the known keywords are {}",
                        KEYWORDS.join(", ")
                    )))
                }
            }
            i += 2;
        }
        if s.models.len() > 1 {
            return Err(Error::Input(format!(
                "pair_style llzo_dp: {} model files given, but model deviation (several models) \
                 is not available yet; give one model file",
                s.models.len()
            )));
        }
        Ok(s)
    }
}

fn parse_device(v: &str) -> Result<DeviceChoice> {
    match v {
        "auto" => Ok(DeviceChoice::Auto),
        "cpu" => Ok(DeviceChoice::Cpu),
        "cuda" | "gpu" => Ok(DeviceChoice::Cuda(None)),
        _ => v
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .map(|n| DeviceChoice::Cuda(Some(n)))
            .ok_or_else(|| {
                Error::Input(format!(
                    "pair_style llzo_dp: 'device' expects auto, cpu, cuda or cuda:N, got '{v}'"
                ))
            }),
    }
}

/// `pair_coeff * * A B ...`: for each LAMMPS type (1-based, index 0 = type 1) the model
/// type index, or `None` for `NULL` (atoms the model ignores).
pub fn map_types(
    names: &[String],
    n_lammps_types: usize,
    model_type_map: &[String],
) -> Result<Vec<Option<usize>>> {
    if names.len() != n_lammps_types {
        return Err(Error::Input(format!(
            "pair_coeff for llzo_dp needs one element name or NULL per atom type: \
             {n_lammps_types} types, {} names given (pair_coeff * * {})",
            names.len(),
            model_type_map.join(" ")
        )));
    }
    names
        .iter()
        .map(|n| {
            if n == "NULL" {
                return Ok(None);
            }
            model_type_map.iter().position(|t| t == n).map(Some).ok_or_else(|| {
                Error::Input(format!(
                    "pair_coeff: element '{n}' is not in the model's type map [{}]; \
                     use one of those names or NULL",
                    model_type_map.join(", ")
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn model_then_keywords() {
        let s = PairSettings::parse(&args("m.pth device cpu threads 2")).unwrap();
        assert_eq!(s.models, vec!["m.pth"]);
        assert_eq!(s.device, DeviceChoice::Cpu);
        assert_eq!(s.threads, 2);
        let d = PairSettings::parse(&args("m.pth")).unwrap();
        assert_eq!((d.device, d.threads), (DeviceChoice::Auto, 0));
        assert_eq!(PairSettings::parse(&args("m.pth device cuda:1")).unwrap().device, DeviceChoice::Cuda(Some(1)));
        assert_eq!(PairSettings::parse(&args("m.pth device cuda")).unwrap().device, DeviceChoice::Cuda(None));
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("", "needs a model file"),
            ("device cpu", "needs a model file"),
            ("m.pth frobnicate 3", "unknown keyword 'frobnicate'"),
            ("m.pth threads", "needs a value"),
            ("m.pth threads two", "got 'two'"),
            ("m.pth threads -1", "got '-1'"),
            ("m.pth device tpu", "got 'tpu'"),
            ("m.pth device cuda:x", "got 'cuda:x'"),
            ("a.pth b.pth", "model deviation"),
            ("m.pth 3.0", "unknown keyword '3.0'"),
        ];
        for (a, want) in cases {
            let e = PairSettings::parse(&args(a)).unwrap_err().to_string();
            assert!(e.contains(want), "args '{a}': '{e}' lacks '{want}'");
        }
    }

    #[test]
    fn pair_coeff_maps_names_and_null() {
        let tm = args("Li La Zr O");
        assert_eq!(map_types(&args("O Li NULL"), 3, &tm).unwrap(), vec![Some(3), Some(0), None]);
        let e = map_types(&args("Li La"), 3, &tm).unwrap_err().to_string();
        assert!(e.contains("3 types, 2 names"), "{e}");
        let e = map_types(&args("Li Xx O"), 3, &tm).unwrap_err().to_string();
        assert!(e.contains("'Xx' is not in the model's type map [Li, La, Zr, O]"), "{e}");
    }
}
