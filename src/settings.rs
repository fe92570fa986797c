//! `pair_style llzo_dp` and `pair_coeff` arguments, parsed and checked here so the
//! C++ side stays a recipe and every rule is unit-tested.
//!
//! ```text
//! pair_style llzo_dp model.pth [more.pth ...] [keyword value ...]
//!   (with several models the first drives the dynamics; the others are evaluated on
//!    output steps for DeePMD-kit's model deviation)
//!   out_file FILE                        (model deviation output, default model_devi.out)
//!   out_freq N                           (steps between model deviation lines, default 100)
//!   device  auto | cpu | cuda | cuda:N   (auto: CUDA when present, one GPU per rank)
//!   threads N                            (intra-op threads per rank; default: LAMMPS's OpenMP threads)
//!   backend auto | native | torch        (auto: the native evaluator on CPU when the model is in
//!                                         its scope (se_e2_a, hybrid se_e2_a + se_e3), else the
//!                                         TorchScript model)
//!   coverage REF.json                    (switch the PCA coverage monitor on)
//!   coverage_every N                     (steps between coverage evaluations, default 10)
//!   coverage_threshold X                 (dump frames with coverage below X, default 0.9)
//!   coverage_dir DIR                     (dumped frames and coverage.csv, default uncertain_frames)
//!   coverage_formats npy,extxyz,data     (formats of dumped frames, default all three)
//!   coverage_max_frames N                (stop dumping after N frames, default 50)
//!   coverage_min_gap N                   (at least N steps between dumps, default 100)
//!   trust_model yes | no                 (yes: skip the check of the model's code, default no;
//!                                         see model/file.rs)
//! pair_coeff * * Li La Zr O              (one element or NULL per LAMMPS atom type)
//! ```

use crate::frames::Format;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA when libtorch sees a GPU (the rank picks `rank % count`), else CPU.
    Auto,
    Cpu,
    /// A CUDA device; `None` = the rank's share of the visible GPUs.
    Cuda(Option<usize>),
}

/// Who evaluates the model: the native code (`native/`: se_e2_a, hybrid se_e2_a + se_e3) or
/// the TorchScript graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Auto,
    Native,
    Torch,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PairSettings {
    pub models: Vec<String>,
    pub device: DeviceChoice,
    /// Intra-op threads per rank; 0 = LAMMPS's own thread count (OMP_NUM_THREADS, `package omp`).
    pub threads: usize,
    pub backend: Backend,
    pub coverage: Option<CoverageSettings>,
    /// Model deviation output (used with several models).
    pub out_file: String,
    pub out_freq: usize,
    /// Load the model without checking the operators its code calls (`trust_model yes`).
    pub trust_model: bool,
}

/// The in-run coverage monitor (`coverage*` keywords).
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageSettings {
    pub reference: String,
    pub every: usize,
    pub threshold: f64,
    pub dir: String,
    pub formats: Vec<Format>,
    pub max_frames: usize,
    pub min_gap: usize,
}

impl CoverageSettings {
    fn new(reference: &str) -> Self {
        CoverageSettings {
            reference: reference.to_string(),
            every: 10,
            threshold: 0.9,
            dir: "uncertain_frames".into(),
            formats: vec![Format::DeepmdNpy, Format::Extxyz, Format::LammpsData],
            max_frames: 50,
            min_gap: 100,
        }
    }
}

const KEYWORDS: &[&str] = &[
    "device",
    "threads",
    "backend",
    "out_file",
    "out_freq",
    "coverage",
    "coverage_every",
    "coverage_threshold",
    "coverage_dir",
    "coverage_formats",
    "coverage_max_frames",
    "coverage_min_gap",
    "trust_model",
];

fn count(key: &str, v: &str, min: usize) -> Result<usize> {
    v.parse::<usize>().ok().filter(|n| *n >= min).ok_or_else(|| {
        Error::Input(format!("pair_style llzo_dp: '{key}' expects an integer >= {min}, got '{v}'"))
    })
}

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
        let n_models = count_models(args)?;
        let models: Vec<String> = args[..n_models].to_vec();
        let mut s = PairSettings {
            models,
            device: DeviceChoice::Auto,
            threads: 0,
            backend: Backend::Auto,
            coverage: None,
            out_file: "model_devi.out".into(),
            out_freq: 100,
            trust_model: false,
        };
        let mut cov_options: Vec<(&str, &str)> = Vec::new();
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
                "backend" => {
                    s.backend = match value_of(args, i, key, "auto, native or torch")? {
                        "auto" => Backend::Auto,
                        "native" => Backend::Native,
                        "torch" => Backend::Torch,
                        v => {
                            return Err(Error::Input(format!(
                                "pair_style llzo_dp: 'backend' expects auto, native or torch, got '{v}'"
                            )))
                        }
                    }
                }
                "trust_model" => {
                    s.trust_model = match value_of(args, i, key, "yes or no")? {
                        "yes" => true,
                        "no" => false,
                        v => {
                            return Err(Error::Input(format!(
                                "pair_style llzo_dp: 'trust_model' expects yes or no, got '{v}'"
                            )))
                        }
                    }
                }
                "out_file" => s.out_file = value_of(args, i, key, "a file name")?.to_string(),
                "out_freq" => s.out_freq = count(key, value_of(args, i, key, "a positive integer")?, 1)?,
                "coverage" => {
                    s.coverage = Some(CoverageSettings::new(value_of(args, i, key, "a coverage reference file")?));
                }
                k if k.starts_with("coverage_") && is_keyword(k) => {
                    cov_options.push((k, value_of(args, i, key, "a value")?));
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
        if let Some((k, _)) = cov_options.first().filter(|_| s.coverage.is_none()) {
            return Err(Error::Input(format!(
                "pair_style llzo_dp: '{k}' needs the monitor switched on: add 'coverage reference.json'"
            )));
        }
        if let Some(c) = s.coverage.as_mut() {
            apply_coverage_options(c, &cov_options)?;
        }
        Ok(s)
    }
}

/// How many model files lead the arguments. The first argument is always a model; more
/// models follow while they look like model files, so a misspelt keyword is reported as
/// such, not as a model path.
fn count_models(args: &[String]) -> Result<usize> {
    let looks_like_model = |a: &str| [".pth", ".pt", ".pb"].iter().any(|ext| a.ends_with(ext));
    let n_models = match args.first() {
        Some(first) if !is_keyword(first) => {
            1 + args[1..].iter().take_while(|a| !is_keyword(a) && looks_like_model(a)).count()
        }
        _ => 0,
    };
    if n_models == 0 {
        return Err(Error::Input(
            "pair_style llzo_dp needs a model file first: pair_style llzo_dp model.pth [keyword value ...]".into(),
        ));
    }
    Ok(n_models)
}

/// The `coverage_*` keywords, once the monitor is on.
fn apply_coverage_options(c: &mut CoverageSettings, options: &[(&str, &str)]) -> Result<()> {
    for &(k, v) in options {
        match k {
            "coverage_every" => c.every = count(k, v, 1)?,
            "coverage_max_frames" => c.max_frames = count(k, v, 0)?,
            "coverage_min_gap" => c.min_gap = count(k, v, 0)?,
            "coverage_dir" => c.dir = v.to_string(),
            "coverage_formats" => c.formats = Format::parse_list(v)?,
            _ => {
                c.threshold = v.parse::<f64>().ok().filter(|x| (0.0..=1.0).contains(x)).ok_or_else(|| {
                    Error::Input(format!("pair_style llzo_dp: 'coverage_threshold' expects a number in [0, 1], got '{v}'"))
                })?
            }
        }
    }
    Ok(())
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
    if !names.is_empty() && names.iter().all(|n| n == "NULL") {
        // LAMMPS would stop anyway ("All pair coeffs are not set", or under hybrid
        // "Incorrect args for pair coefficients"); say why
        return Err(Error::Input(format!(
            "pair_coeff maps every atom type to NULL, so llzo_dp has nothing to compute; give the \
             element of the model's atom types (one of [{}]) and NULL only for the others, or \
             leave llzo_dp out of the pair style",
            model_type_map.join(", ")
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
        assert_eq!(d.backend, Backend::Auto);
        assert_eq!(PairSettings::parse(&args("m.pth backend native")).unwrap().backend, Backend::Native);
        assert_eq!(PairSettings::parse(&args("m.pth backend torch")).unwrap().backend, Backend::Torch);
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
            ("m.pth out_freq 0", "'out_freq' expects an integer >= 1, got '0'"),
            ("m.pth 3.0", "unknown keyword '3.0'"),
            ("m.pth backend tf", "'backend' expects auto, native or torch, got 'tf'"),
        ];
        for (a, want) in cases {
            let e = PairSettings::parse(&args(a)).unwrap_err().to_string();
            assert!(e.contains(want), "args '{a}': '{e}' lacks '{want}'");
        }
    }

    #[test]
    fn trust_model_keyword() {
        assert!(!PairSettings::parse(&args("m.pth")).unwrap().trust_model);
        assert!(PairSettings::parse(&args("m.pth trust_model yes")).unwrap().trust_model);
        assert!(!PairSettings::parse(&args("m.pth trust_model no device cpu")).unwrap().trust_model);
        for (a, want) in [
            ("m.pth trust_model", "keyword 'trust_model' needs a value (yes or no)"),
            ("m.pth trust_model 1", "'trust_model' expects yes or no, got '1'"),
        ] {
            let e = PairSettings::parse(&args(a)).unwrap_err().to_string();
            assert!(e.contains(want), "{a}: {e}");
        }
    }

    #[test]
    fn several_models_and_deviation_output() {
        let s = PairSettings::parse(&args("a.pth b.pth c.pth out_file md.out out_freq 10")).unwrap();
        assert_eq!(s.models, vec!["a.pth", "b.pth", "c.pth"]);
        assert_eq!((s.out_file.as_str(), s.out_freq), ("md.out", 10));
        let d = PairSettings::parse(&args("a.pth")).unwrap();
        assert_eq!((d.out_file.as_str(), d.out_freq), ("model_devi.out", 100));
    }

    #[test]
    fn coverage_keywords() {
        let s = PairSettings::parse(&args("m.pth coverage r.json coverage_every 5 coverage_threshold 0.8 coverage_formats npy,data coverage_dir out coverage_max_frames 3 coverage_min_gap 0")).unwrap();
        let c = s.coverage.unwrap();
        assert_eq!((c.reference.as_str(), c.every, c.threshold, c.dir.as_str(), c.max_frames, c.min_gap), ("r.json", 5, 0.8, "out", 3, 0));
        assert_eq!(c.formats, vec![Format::DeepmdNpy, Format::LammpsData]);
        assert!(PairSettings::parse(&args("m.pth")).unwrap().coverage.is_none());
        for (a, want) in [
            ("m.pth coverage_every 5", "needs the monitor switched on"),
            ("m.pth coverage r.json coverage_every 0", "'coverage_every' expects an integer >= 1, got '0'"),
            ("m.pth coverage r.json coverage_threshold 1.5", "got '1.5'"),
            ("m.pth coverage r.json coverage_formats npy,pdb", "unknown frame format 'pdb'"),
        ] {
            let e = PairSettings::parse(&args(a)).unwrap_err().to_string();
            assert!(e.contains(want), "{a}: {e}");
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
        let e = map_types(&args("NULL NULL"), 2, &tm).unwrap_err().to_string();
        assert!(e.contains("every atom type to NULL, so llzo_dp has nothing to compute"), "{e}");
    }
}
