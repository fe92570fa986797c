//! `pair_style llzo_dp` and `pair_coeff` arguments, parsed and checked here so the
//! C++ side stays a recipe and every rule is unit-tested.
//!
//! ```text
//! pair_style llzo_dp model.pth [more.pth ...] [keyword value ...]
//!   (with several models the first drives the dynamics; the others are evaluated on
//!    output steps for DeePMD-kit's model deviation)
//!   out_file FILE                        (model deviation output, default model_devi.out; a
//!                                         restart continues it, a new run over it is refused)
//!   out_freq N                           (steps between model deviation lines, default 100)
//!   atomic                               (out_file also gets each atom's force deviation,
//!                                         one column per atom in atom-ID order)
//!   relative E                           (force deviations divided by |F| + E; E > 0, in
//!                                         LAMMPS energy units)
//!   relative_v E                         (virial deviations divided by |v| + E per component)
//!                                        (the model deviation keywords are warned about and
//!                                         ignored with one model)
//!   device  auto | cpu | cuda | cuda:N   (auto: CUDA when present, one GPU per rank)
//!   threads N                            (intra-op threads per rank; default: LAMMPS's OpenMP threads)
//!   backend auto | native | torch        (auto: the native evaluator on CPU when the model is in
//!                                         its scope (se_e2_a, hybrid se_e2_a + se_e3), else the
//!                                         TorchScript model)
//!   coverage REF.json                    (switch the PCA coverage monitor on)
//!   coverage_every N                     (steps between coverage evaluations, default 10)
//!   coverage_threshold X                 (dump frames with coverage below X, default 0.9)
//!   coverage_dir DIR                     (dumped frames and coverage.csv, default uncertain_frames)
//!   coverage_formats npy,extxyz,data     (formats of dumped frames, default all three; npy
//!                                         needs a box periodic along all axes or none)
//!   coverage_max_frames N                (stop dumping after N frames, default 50)
//!   coverage_min_gap N                   (at least N steps between dumps, default 100)
//!   tabulate yes | no                    (native evaluator: embedding nets as tables built at load,
//!                                         interpolation error ~1e-14, checked at load; default yes)
//!   precision auto | float64 | float32   (native evaluator: the nets' arithmetic; auto = the
//!                                         precision the model's weights are stored in;
//!                                         float32 runs a float64 model in float32, energies,
//!                                         forces and virial still summed in float64)
//!   trust_model yes | no                 (yes: skip the check of the model's code, default no;
//!                                         see model/file.rs)
//!   fparam V1 [V2 ...]                   (the frame parameters of a model trained with
//!                                         numb_fparam, as pair_style deepmd takes them)
//!   aparam V1 [V2 ...]                   (the atomic parameters of a model trained with
//!                                         numb_aparam, the same for every atom)
//!                                        (fparam_from_compute, fparam_from_fix,
//!                                         aparam_from_compute and ttm are refused by name)
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
    /// Per-atom columns and relative deviations in out_file.
    pub deviation: DeviationOptions,
    /// Load the model without checking the operators its code calls (`trust_model yes`).
    pub trust_model: bool,
    /// The native evaluator's embedding nets as tables (`tabulate`, default yes).
    pub tabulate: bool,
    /// The native evaluator's arithmetic (`precision`, default auto).
    pub precision: Precision,
    /// Frame parameters (`fparam`), empty when not given.
    pub fparam: Vec<f64>,
    /// Atomic parameters (`aparam`), one set for every atom, empty when not given.
    pub aparam: Vec<f64>,
    /// The keywords given (to tell an explicit `out_file` from the default).
    pub given: Vec<String>,
}

/// The native evaluator's arithmetic (`precision`): the model's own, or one asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Auto,
    Float64,
    Float32,
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

/// What `model_devi.out` holds besides DeePMD-kit's six default columns, as
/// `pair_style deepmd` takes it: `atomic` adds one force deviation column per atom;
/// `relative E` divides each atom's force deviation by |<F_i>| + E, `relative_v E` each
/// virial component's by |<v_c>| + E (E in LAMMPS energy units).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DeviationOptions {
    pub atomic: bool,
    pub relative: Option<f64>,
    pub relative_v: Option<f64>,
}

/// The model deviation keywords (all need two or more models).
const DEVIATION_KEYWORDS: &[&str] = &["out_file", "out_freq", "atomic", "relative", "relative_v"];

const KEYWORDS: &[&str] = &[
    "device",
    "threads",
    "backend",
    "out_file",
    "out_freq",
    "atomic",
    "relative",
    "relative_v",
    "coverage",
    "coverage_every",
    "coverage_threshold",
    "coverage_dir",
    "coverage_formats",
    "coverage_max_frames",
    "coverage_min_gap",
    "trust_model",
    "tabulate",
    "precision",
    "fparam",
    "aparam",
];

/// `pair_style deepmd` keywords that take parameters from elsewhere in the run.
const DYNAMIC_PARAM_KEYWORDS: &[&str] = &["fparam_from_compute", "fparam_from_fix", "aparam_from_compute", "ttm"];

/// The numbers after `fparam` / `aparam` (at least one), up to the next word that is not a
/// number; returns them and how many arguments they took.
fn numbers_after(args: &[String], i: usize, key: &str) -> Result<Vec<f64>> {
    let values: Vec<f64> = args[i + 1..].iter().map_while(|a| a.parse::<f64>().ok()).collect();
    if values.is_empty() {
        return Err(Error::Input(format!(
            "pair_style llzo_dp: '{key}' needs one or more numbers (one per model parameter), got {}",
            args.get(i + 1).map_or("nothing".to_string(), |a| format!("'{a}'"))
        )));
    }
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::Input(format!("pair_style llzo_dp: '{key}' values must be finite, got {bad}")));
    }
    Ok(values)
}

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
            deviation: DeviationOptions::default(),
            trust_model: false,
            tabulate: true,
            precision: Precision::Auto,
            fparam: Vec::new(),
            aparam: Vec::new(),
            given: Vec::new(),
        };
        let mut cov_options: Vec<(&str, &str)> = Vec::new();
        let mut i = n_models;
        while i < args.len() {
            let key = args[i].as_str();
            s.given.push(key.to_string());
            if key == "atomic" {
                s.deviation.atomic = true; // a flag, no value
                i += 1;
                continue;
            }
            if key == "fparam" || key == "aparam" {
                let values = numbers_after(args, i, key)?;
                i += 1 + values.len();
                *(if key == "fparam" { &mut s.fparam } else { &mut s.aparam }) = values;
                continue;
            }
            if DYNAMIC_PARAM_KEYWORDS.contains(&key) {
                return Err(Error::Input(format!(
                    "pair_style llzo_dp: '{key}' (parameters taken from a compute or fix during the run) is not \
                     supported; give constant values with 'fparam V ...' / 'aparam V ...', or use pair_style deepmd"
                )));
            }
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
                "trust_model" => s.trust_model = yes_or_no(key, value_of(args, i, key, "yes or no")?)?,
                "tabulate" => s.tabulate = yes_or_no(key, value_of(args, i, key, "yes or no")?)?,
                "precision" => {
                    s.precision = match value_of(args, i, key, "auto, float64 or float32")? {
                        "auto" => Precision::Auto,
                        "float64" | "double" => Precision::Float64,
                        "float32" | "float" => Precision::Float32,
                        v => {
                            return Err(Error::Input(format!(
                                "pair_style llzo_dp: 'precision' expects auto, float64 or float32, got '{v}'"
                            )))
                        }
                    }
                }
                "out_file" => s.out_file = value_of(args, i, key, "a file name")?.to_string(),
                "out_freq" => s.out_freq = count(key, value_of(args, i, key, "a positive integer")?, 1)?,
                "relative" | "relative_v" => {
                    let level = relative_level(key, value_of(args, i, key, "a positive number, e.g. 1.0")?)?;
                    *(if key == "relative" { &mut s.deviation.relative } else { &mut s.deviation.relative_v }) = Some(level);
                }
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

    /// Keywords that do nothing with these settings, for a LAMMPS warning: `out_file`,
    /// `out_freq`, `atomic`, `relative` and `relative_v` belong to the model deviation,
    /// which needs two or more models (`pair_style deepmd` ignores them silently).
    pub fn ignored_keywords(&self) -> Option<String> {
        let given = |k: &&str| self.given.iter().any(|g| g == k);
        let unused: Vec<&str> =
            DEVIATION_KEYWORDS.iter().copied().filter(|k| self.models.len() == 1 && given(k)).collect();
        (!unused.is_empty()).then(|| {
            format!(
                "pair_style llzo_dp: {} ignored: the model deviation (and its file) needs two or more models, \
                 e.g. pair_style llzo_dp a.pth b.pth out_file md.out",
                match unused.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                    _ => unused.join(""),
                }
            )
        })
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

/// The level E of `relative E` / `relative_v E`: finite and positive (with E = 0 an atom
/// without force, or a virial component of zero, would divide zero by zero).
fn relative_level(key: &str, v: &str) -> Result<f64> {
    v.parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0).ok_or_else(|| {
        Error::Input(format!(
            "pair_style llzo_dp: '{key}' expects a positive number, the level E in the denominator |F| + E \
             (LAMMPS energy units, e.g. '{key} 1.0'), got '{v}'"
        ))
    })
}

fn yes_or_no(key: &str, v: &str) -> Result<bool> {
    match v {
        "yes" => Ok(true),
        "no" => Ok(false),
        v => Err(Error::Input(format!("pair_style llzo_dp: '{key}' expects yes or no, got '{v}'"))),
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
/// type index, or `None` for `NULL` (atoms the model ignores). A bare `pair_coeff * *` maps
/// type i to the model's i-th element, as `pair_style deepmd` does.
pub fn map_types(
    names: &[String],
    n_lammps_types: usize,
    model_type_map: &[String],
) -> Result<Vec<Option<usize>>> {
    if names.is_empty() {
        if n_lammps_types > model_type_map.len() {
            return Err(Error::Input(format!(
                "a bare 'pair_coeff * *' maps atom type i to the model's i-th element, but there are \
                 {n_lammps_types} atom types and the model has {} elements [{}]: give one element name \
                 or NULL per atom type (pair_coeff * * {})",
                model_type_map.len(),
                model_type_map.join(", "),
                model_type_map.join(" ")
            )));
        }
        return Ok((0..n_lammps_types).map(Some).collect());
    }
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

/// The effective `pair_coeff` map, one line for the log at every run, and warnings: an
/// element that several LAMMPS types share with different masses (`masses[t-1]`; empty when
/// LAMMPS has per-atom masses), most often a typo such as `pair_coeff * * Li Li Zr O`.
pub fn describe_type_map(map: &[Option<usize>], model_type_map: &[String], masses: &[f64]) -> (String, Vec<String>) {
    let name = |m: &Option<usize>| m.map_or("NULL (ignored)".to_string(), |k| model_type_map[k].clone());
    let pairs: Vec<String> = map.iter().enumerate().map(|(t, m)| format!("{} {}", t + 1, name(m))).collect();
    let line = format!("llzo_dp: LAMMPS type -> element: {}\n", pairs.join(", "));
    let mut warnings = Vec::new();
    for (k, element) in model_type_map.iter().enumerate() {
        let types: Vec<usize> = (0..map.len()).filter(|&t| map[t] == Some(k)).collect();
        let ms: Vec<f64> = types.iter().filter_map(|&t| masses.get(t).copied()).collect();
        let differ = ms.iter().any(|m| (m - ms[0]).abs() > 1e-6 * ms[0].abs().max(1.0));
        if types.len() > 1 && differ {
            let list: Vec<String> = types.iter().zip(&ms).map(|(t, m)| format!("type {} (mass {m})", t + 1)).collect();
            warnings.push(format!(
                "pair_coeff maps several atom types to {element} whose masses differ: {}; check the element order of pair_coeff * *",
                list.join(", ")
            ));
        }
    }
    (line, warnings)
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
        assert!(d.tabulate);
        assert!(!PairSettings::parse(&args("m.pth tabulate no")).unwrap().tabulate);
        assert!(PairSettings::parse(&args("m.pth tabulate maybe")).is_err());
        assert_eq!(d.precision, Precision::Auto);
        assert_eq!(PairSettings::parse(&args("m.pth precision float32")).unwrap().precision, Precision::Float32);
        let p = PairSettings::parse(&args("m.pth fparam 0.5 -1e-2 aparam 3 threads 2")).unwrap();
        assert_eq!((p.fparam, p.aparam, p.threads), (vec![0.5, -0.01], vec![3.0], 2));
        let e = PairSettings::parse(&args("m.pth fparam threads 2")).unwrap_err().to_string();
        assert!(e.contains("'fparam' needs one or more numbers") && e.contains("'threads'"), "{e}");
        let e = PairSettings::parse(&args("m.pth aparam")).unwrap_err().to_string();
        assert!(e.contains("'aparam' needs one or more numbers") && e.contains("nothing"), "{e}");
        let e = PairSettings::parse(&args("m.pth fparam nan")).unwrap_err().to_string();
        assert!(e.contains("must be finite"), "{e}");
        let e = PairSettings::parse(&args("m.pth fparam_from_compute c1")).unwrap_err().to_string();
        assert!(e.contains("'fparam_from_compute'") && e.contains("give constant values"), "{e}");

        assert_eq!(PairSettings::parse(&args("m.pth precision float64")).unwrap().precision, Precision::Float64);
        let e = PairSettings::parse(&args("m.pth precision half")).unwrap_err().to_string();
        assert!(e.contains("'precision' expects auto, float64 or float32, got 'half'"), "{e}");
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
        assert_eq!((s.ignored_keywords(), d.ignored_keywords()), (None, None));
        let one = PairSettings::parse(&args("a.pth out_file md.out")).unwrap();
        assert!(one.ignored_keywords().unwrap().contains("out_file ignored"));
    }

    #[test]
    fn deviation_keywords_atomic_relative() {
        let s = PairSettings::parse(&args("a.pth b.pth atomic relative 1.0 out_freq 5 relative_v 0.25 atomic")).unwrap();
        assert_eq!(s.deviation, DeviationOptions { atomic: true, relative: Some(1.0), relative_v: Some(0.25) });
        assert_eq!(s.out_freq, 5);
        // a flag anywhere, also last
        let s = PairSettings::parse(&args("a.pth b.pth relative 2e-1 atomic")).unwrap();
        assert_eq!(s.deviation, DeviationOptions { atomic: true, relative: Some(0.2), relative_v: None });
        assert_eq!(PairSettings::parse(&args("a.pth b.pth")).unwrap().deviation, DeviationOptions::default());
        assert_eq!(s.ignored_keywords(), None);
        let one = PairSettings::parse(&args("a.pth atomic relative 1")).unwrap().ignored_keywords().unwrap();
        assert!(one.contains("atomic and relative ignored"), "{one}");
    }

    #[test]
    fn deviation_keywords_refuse_bad_levels() {
        for (a, want) in [
            ("a.pth b.pth relative", "keyword 'relative' needs a value (a positive number, e.g. 1.0)"),
            ("a.pth b.pth relative_v", "keyword 'relative_v' needs a value"),
            ("a.pth b.pth relative -1", "'relative' expects a positive number, the level E in the denominator |F| + E"),
            ("a.pth b.pth relative 0", "got '0'"),
            ("a.pth b.pth relative_v -0.5", "'relative_v' expects a positive number"),
            ("a.pth b.pth relative nan", "got 'nan'"),
            ("a.pth b.pth relative inf", "got 'inf'"),
            ("a.pth b.pth relative atomic", "got 'atomic'"),
            ("a.pth b.pth relative one", "got 'one'"),
            ("a.pth b.pth atomic yes", "unknown keyword 'yes'"),
        ] {
            let e = PairSettings::parse(&args(a)).unwrap_err().to_string();
            assert!(e.contains(want), "{a}: {e}");
        }
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
    fn type_map_line_and_repeated_elements() {
        let tm = args("Li La Zr O");
        let (line, w) = describe_type_map(&[Some(0), Some(0), Some(2), None], &tm, &[6.94, 6.94, 91.224, 1.0]);
        assert_eq!(line, "llzo_dp: LAMMPS type -> element: 1 Li, 2 Li, 3 Zr, 4 NULL (ignored)\n");
        assert!(w.is_empty(), "{w:?}");
        let (_, w) = describe_type_map(&[Some(0), Some(0), Some(2), Some(3)], &tm, &[6.94, 138.9, 91.224, 16.0]);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("to Li") && w[0].contains("type 2 (mass 138.9)"), "{w:?}");
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

    #[test]
    fn bare_pair_coeff_maps_types_by_position_as_pair_deepmd_does() {
        let tm = args("Li La Zr O");
        assert_eq!(map_types(&[], 2, &tm).unwrap(), vec![Some(0), Some(1)]);
        assert_eq!(map_types(&[], 4, &tm).unwrap(), vec![Some(0), Some(1), Some(2), Some(3)]);
        let e = map_types(&[], 5, &tm).unwrap_err().to_string();
        assert!(e.contains("5 atom types and the model has 4 elements") && e.contains("pair_coeff * * Li La Zr O"), "{e}");
    }
}
