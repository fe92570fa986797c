//! `llzo-dp`: command-line tools around the core.
//!
//! ```text
//! llzo-dp info MODEL                      model metadata (cutoff, type map, sel, ...)
//! --trust-model (any command)             load a model without checking its code's operators
//! llzo-dp eval MODEL DATA [--device D] [--backend B] [--threads N] [--fparam V,..] [--aparam V,..]
//!                                                                    energy, forces and virial of a LAMMPS data file
//! llzo-dp coverage build ... -o REF.json SYSTEM...   PCA coverage reference from deepmd/npy data
//! llzo-dp coverage check REF.json SYSTEM...          coverage of frames (deepmd/npy or .xyz/.extxyz)
//! llzo-dp coverage bench DATA                        time the coverage features
//! ```
//! `eval` builds the periodic images itself (brute force, for small cells) and calls the
//! same model code as the pair style; it exists to check a model or a device (CUDA)
//! without LAMMPS.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use llzo_dp::frames::images::{extend, Extended};
use llzo_dp::coverage::{self, BuildParams, Reference, TrainingSet};
use llzo_dp::error::{Error, Result};
use llzo_dp::model::{resolve_device, Evaluation, Model, NativeOptions, StepInput};
use llzo_dp::settings::DeviceChoice;
/// `--trust-model` was given: models load without the check of their code (model/file.rs).
static TRUST_MODEL: AtomicBool = AtomicBool::new(false);

/// The checks `pair_style llzo_dp` makes before loading a model, here for the CLI.
fn check_model(path: &str) -> Result<()> {
    llzo_dp::model::file::check_path(path)?;
    if !TRUST_MODEL.load(Ordering::Relaxed) {
        llzo_dp::model::file::check_code(path)?;
    }
    Ok(())
}

fn eval(data: &str, settings: &llzo_dp::settings::PairSettings) -> Result<()> {
    let model_path = &settings.models[0];
    let threads = settings.threads.max(1);
    tch::set_num_threads(threads as i32);
    check_model(model_path)?;
    let native = NativeOptions { threads, tabulate: settings.tabulate, precision: settings.precision };
    let mut model = Model::load(model_path, resolve_device(settings.device, 0)?, settings.backend, native)?;
    let frame = llzo_dp::frames::lammps_data::read(data)?;
    let Extended { coords, owner, nlist, width } = extend(&frame, model.info.rcut)?;
    let n = frame.pos.len();
    let types: Vec<i64> = owner.iter().map(|&o| frame.types[o] as i64).collect();
    let mut input = StepInput::within_cutoff(&coords, &types, &nlist, n, width);
    // a message-passing model gives each periodic image its original atom's features
    let mapping: Vec<i64> = owner.iter().map(|&o| o as i64).collect();
    if model.info.message_passing {
        input.mapping = &mapping;
    }
    model.check_params(model_path, &settings.fparam, &settings.aparam)?;
    let atoms = if model.info.aparam_nall { owner.len() } else { n };
    let aparam: Vec<f64> = (0..atoms).flat_map(|_| settings.aparam.iter().copied()).collect();
    (input.fparam, input.aparam, input.aparam_dim) = (&settings.fparam, &aparam, settings.aparam.len());
    let mut out = Evaluation::default();
    let t0 = std::time::Instant::now();
    model.evaluate(&input, false, &mut out)?;
    let first = t0.elapsed().as_secs_f64();
    let _ = model.take_phase_report(); // the repeated calls' phases only
    let t1 = std::time::Instant::now();
    const REPEATS: usize = 5;
    for _ in 0..REPEATS {
        model.evaluate(&input, false, &mut out)?;
    }
    let each = t1.elapsed().as_secs_f64() / REPEATS as f64;
    let phases = model.take_phase_report();
    if !phases.is_empty() {
        eprintln!("llzo-dp eval: {:.1} µs/atom per call; {phases}", 1e6 * each / n as f64);
    }
    let mut force = vec![[0.0f64; 3]; n];
    for (e, &o) in owner.iter().enumerate() {
        for d in 0..3 {
            force[o][d] += out.force[3 * e + d];
        }
    }
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.17e}")).collect::<Vec<_>>().join(", ");
    let forces: Vec<String> = force.iter().map(|f| format!("[{}]", fmt(f))).collect();
    println!(
        "{{\"device\": \"{:?}\", \"backend\": \"{}\", \"atoms\": {n}, \"atoms_with_ghosts\": {}, \"energy\": {:.17e}, \"virial\": [{}], \"seconds_first\": {first:.4}, \"seconds_per_call\": {each:.5}, \"forces\": [{}]}}",
        model.device,
        model.backend_note,
        owner.len(),
        out.energy,
        fmt(&out.virial),
        forces.join(", ")
    );
    Ok(())
}

fn info(model_path: &str) -> Result<()> {
    let _ = resolve_device(DeviceChoice::Auto, 0); // loads the CUDA backend when present
    check_model(model_path)?;
    let model = Model::load(model_path, tch::Device::Cpu, llzo_dp::settings::Backend::Auto, NativeOptions::default())?;
    let i = &model.info;
    println!("model      {model_path}");
    println!("sha256     {}", llzo_dp::coverage::reference::file_sha256(Path::new(model_path))?);
    println!("type map   {}", i.type_map.join(" "));
    println!("rcut       {} Å", i.rcut);
    println!("sel        {:?}", i.sel);
    println!("fparam     {}  aparam {}  message passing {}", i.dim_fparam, i.dim_aparam, i.message_passing);
    println!("evaluator  {}", model.backend_note);
    println!("cuda       {} device(s) visible", tch::Cuda::device_count());
    Ok(())
}


/// Writes a file whole (temp file, then rename).
fn write_whole(path: &str, text: &str) -> Result<()> {
    llzo_dp::frames::write_whole(Path::new(path), text.as_bytes())
}

/// Options `--name value` (from `valued`) and flags, the rest positional.
fn parse_opts(args: &[String], valued: &[&str]) -> Result<(HashMap<String, String>, Vec<String>)> {
    let mut opts = HashMap::new();
    let mut pos = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if valued.contains(&a.as_str()) {
            let v = it.next().ok_or_else(|| Error::Input(format!("{a} needs a value")))?;
            opts.insert(a.clone(), v.clone());
        } else if a.starts_with("--") {
            return Err(Error::Input(format!("unknown option {a}")));
        } else {
            pos.push(a.clone());
        }
    }
    Ok((opts, pos))
}

fn num_opt<T: std::str::FromStr>(opts: &HashMap<String, String>, key: &str, default: T) -> Result<T> {
    match opts.get(key) {
        Some(v) => v.parse().map_err(|_| Error::Input(format!("{key}: bad value '{v}'"))),
        None => Ok(default),
    }
}

fn systems_of(roots: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for r in roots {
        if llzo_dp::frames::is_extxyz(Path::new(r)) {
            out.push(PathBuf::from(r));
            continue;
        }
        let found = llzo_dp::frames::deepmd::find_systems(Path::new(r))?;
        if found.is_empty() {
            return Err(Error::Input(format!("{r}: no deepmd/npy system (no type.raw) found")));
        }
        out.extend(found);
    }
    Ok(out)
}

fn model_type_map_rcut(path: &str) -> Result<(Vec<String>, f64)> {
    check_model(path)?;
    let model = Model::load(path, tch::Device::Cpu, llzo_dp::settings::Backend::Torch, NativeOptions::default())?;
    Ok((model.info.type_map.clone(), model.info.rcut))
}

fn coverage_build(args: &[String]) -> Result<()> {
    let (opts, roots) =
        parse_opts(args, &["--type-map", "--rcut", "--model", "-o", "--grid", "--threshold", "--radial", "--rmin", "--max-components"])?;
    let model = opts.get("--model").map(|m| model_type_map_rcut(m)).transpose()?;
    let type_map: Vec<String> = match (opts.get("--type-map"), &model) {
        (Some(t), _) => t.split(',').map(|s| s.trim().to_string()).collect(),
        (None, Some((t, _))) => t.clone(),
        (None, None) => return Err(Error::Input("coverage build needs --type-map (e.g. Li,La,Zr,O) or --model".into())),
    };
    let rcut: f64 = num_opt(&opts, "--rcut", model.as_ref().map(|m| m.1).unwrap_or(f64::NAN))?;
    let out = opts.get("-o").ok_or_else(|| Error::Input("coverage build needs -o REFERENCE.json".into()))?;
    if roots.is_empty() {
        return Err(Error::Input("coverage build needs training systems".into()));
    }
    let mut params = BuildParams::new(type_map.clone(), rcut);
    params.grid_size = num_opt(&opts, "--grid", params.grid_size)?;
    params.threshold = num_opt(&opts, "--threshold", params.threshold)?;
    params.max_components = opts.get("--max-components").map(|_| num_opt(&opts, "--max-components", 0usize)).transpose()?;
    params.features.n_radial = num_opt(&opts, "--radial", params.features.n_radial)?;
    params.features.r_min = num_opt(&opts, "--rmin", params.features.r_min)?;
    params.features.validate()?;
    let mut train = TrainingSet::new(&params);
    let mut buf = Vec::new();
    let t0 = Instant::now();
    let mut feat_s = 0.0;
    let mut atoms = 0usize;
    let featurizer = coverage::features::Featurizer::new(&params.features)?;
    for sys in systems_of(&roots)? {
        let frames = llzo_dp::frames::read_frames(&sys, &type_map)?;
        eprintln!("coverage build: {} ({} frames)", sys.display(), frames.len());
        for f in &frames {
            let t = Instant::now();
            let types = featurizer.frame_features(f, &mut buf)?;
            feat_s += t.elapsed().as_secs_f64();
            atoms += types.len();
            train.add_frame(&buf, &types)?;
        }
        train.source.push(sys.display().to_string());
    }
    eprintln!(
        "coverage build: {} frames, {atoms} atoms, {} features per atom ({:.1} s, images + features)",
        train.n_frames,
        params.features.len(),
        feat_s
    );
    let mut reference = Reference::build(&params, &train)?;
    if let Some((t, r)) = &model {
        reference.check_model(t, *r)?;
    }
    if let Some(m) = opts.get("--model") {
        reference.model_sha256 = Some(llzo_dp::coverage::reference::file_sha256(Path::new(m))?);
    }
    for (name, e) in type_map.iter().zip(&reference.elements) {
        match e {
            Some(e) => {
                let c: f64 = e.pca.contributions()[..e.pca.m].iter().sum();
                eprintln!(
                    "coverage build: {name:>3}: {} atoms, m = {} components ({:.2} % of the variance), {} planes",
                    e.n_train,
                    e.pca.m,
                    100.0 * c,
                    e.grid.n_planes()
                );
            }
            None => eprintln!("coverage build: {name:>3}: no training atoms (its atoms will count as uncovered)"),
        }
    }
    reference.save(Path::new(out))?;
    let saved = Reference::load(Path::new(out))?;
    eprintln!("coverage build: wrote {out} ({:.1} s)", t0.elapsed().as_secs_f64());
    print_checksums("coverage build", &saved);
    Ok(())
}

/// The reference's content checksum and the model it was built for (stderr, like the
/// other progress lines).
fn print_checksums(what: &str, reference: &Reference) {
    eprintln!("{what}: reference content sha256 {}", reference.checksum.as_deref().unwrap_or("-"));
    match &reference.model_sha256 {
        Some(h) => eprintln!("{what}: built for the model with sha256 {h}"),
        None => eprintln!("{what}: built from a type map and cutoff, for no particular model file"),
    }
}

fn fmt_cov(c: Option<f64>) -> String {
    c.map(|c| format!("{:.4}", 100.0 * c)).unwrap_or_else(|| "nan".into())
}

fn coverage_check(args: &[String]) -> Result<()> {
    let (opts, pos) = parse_opts(args, &["--csv", "--pcs-csv", "--model"])?;
    let (ref_path, roots) = pos.split_first().ok_or_else(|| Error::Input("coverage check needs REFERENCE.json and systems".into()))?;
    if roots.is_empty() {
        return Err(Error::Input("coverage check needs systems to check".into()));
    }
    let reference = Reference::load(Path::new(ref_path))?;
    print_checksums("coverage check", &reference);
    if let Some(m) = opts.get("--model") {
        let (t, r) = model_type_map_rcut(m)?;
        reference.check_model(&t, r)?;
        reference.check_model_file(Path::new(m))?;
    }
    let tm = &reference.type_map;
    let cols: Vec<String> = tm.iter().map(|e| format!("cov_{e}")).collect();
    let header = format!("system,frame,atoms,{},overall,flagged_atoms", cols.join(","));
    println!("{}", header.replace(',', " "));
    let mut csv = vec![header];
    let mut pcs = vec!["set,element,system,frame,atom,pc1,pc2,atom_coverage".to_string()];
    for (er, name) in reference.elements.iter().zip(tm) {
        let Some(er) = er else { continue };
        for p in &er.train_pc12 {
            pcs.push(format!("train,{name},,,,{:.6e},{:.6e},", p[0], p[1]));
        }
    }
    let mut all = reference.new_occupancy();
    let (mut feat_s, mut cov_s, mut atoms) = (0.0, 0.0, 0usize);
    let mut buf = Vec::new();
    let mut proj = Vec::new();
    let mm = reference.elements.iter().flatten().map(|e| e.pca.m).max().unwrap_or(1);
    let featurizer = coverage::features::Featurizer::new(&reference.features)?;
    for sys in systems_of(roots)? {
        let frames = llzo_dp::frames::read_frames(&sys, tm)?;
        eprintln!("coverage check: {} ({} frames)", sys.display(), frames.len());
        for (k, f) in frames.iter().enumerate() {
            let t = Instant::now();
            let types = featurizer.frame_features(f, &mut buf)?;
            feat_s += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let mut occ = reference.new_occupancy();
            let mut ac = vec![0.0; types.len()];
            reference.add_atoms(&buf, &types, &mut occ, &mut ac)?;
            let c = reference.summarize(&occ);
            cov_s += t.elapsed().as_secs_f64();
            atoms += types.len();
            all.merge(&occ)?;
            let flagged = ac.iter().filter(|&&x| x < 1.0).count();
            let per: Vec<String> = c.per_element.iter().map(|&x| fmt_cov(x)).collect();
            let line = format!("{},{k},{},{},{},{flagged}", sys.display(), types.len(), per.join(","), fmt_cov(c.overall));
            println!("{}", line.replace(',', " "));
            csv.push(line);
            if opts.contains_key("--pcs-csv") {
                reference.project(&buf, &types, &mut proj)?;
                for (a, (&ty, row)) in types.iter().zip(proj.chunks(mm)).enumerate() {
                    if reference.elements[ty as usize].is_some() {
                        pcs.push(format!("test,{},{},{k},{a},{:.6e},{:.6e},{:.4}", tm[ty as usize], sys.display(), row[0], row[1], ac[a]));
                    }
                }
            }
        }
    }
    let c = reference.summarize(&all);
    let per: Vec<String> = c.per_element.iter().map(|&x| fmt_cov(x)).collect();
    let line = format!("ALL,,{atoms},{},{},", per.join(","), fmt_cov(c.overall));
    println!("{}", line.replace(',', " "));
    csv.push(line);
    eprintln!(
        "coverage check: {atoms} atoms, {} features; images + features {:.2} us/atom, PCA + grids {:.2} us/atom",
        reference.features.len(),
        1e6 * feat_s / atoms.max(1) as f64,
        1e6 * cov_s / atoms.max(1) as f64
    );
    if let Some(p) = opts.get("--csv") {
        write_whole(p, &(csv.join("\n") + "\n"))?;
    }
    if let Some(p) = opts.get("--pcs-csv") {
        write_whole(p, &(pcs.join("\n") + "\n"))?;
    }
    Ok(())
}

/// Times the features alone (images built once, outside the timing) on a LAMMPS data file.
fn coverage_bench(args: &[String]) -> Result<()> {
    let (opts, pos) = parse_opts(args, &["--type-map", "--rcut", "--repeat", "--reference"])?;
    let [data] = pos.as_slice() else {
        return Err(Error::Input("coverage bench DATA --type-map Li,La,Zr,O --rcut 6.0".into()));
    };
    let n_types = opts.get("--type-map").map(|t| t.split(',').count()).unwrap_or(4);
    let params = coverage::FeatureParams::new(n_types, num_opt(&opts, "--rcut", 6.0)?);
    let repeat: usize = num_opt(&opts, "--repeat", 20)?;
    let mut frame = llzo_dp::frames::lammps_data::read(data)?;
    llzo_dp::frames::images::wrap(&mut frame)?;
    let t = Instant::now();
    let ext = extend(&frame, params.rcut)?;
    let images_s = t.elapsed().as_secs_f64();
    let atype: Vec<i64> = ext.owner.iter().map(|&o| frame.types[o] as i64).collect();
    let nb = coverage::Neighborhood { coords: &ext.coords, types: &atype, nloc: frame.pos.len(), nlist: &ext.nlist };
    let mut out = Vec::new();
    let featurizer = coverage::features::Featurizer::new(&params)?;
    featurizer.compute(&nb, &mut out)?;
    let t = Instant::now();
    for _ in 0..repeat.max(1) {
        featurizer.compute(&nb, &mut out)?;
    }
    let each = t.elapsed().as_secs_f64() / repeat.max(1) as f64;
    let n = frame.pos.len();
    // optionally the rest of the monitor: projection, grids, per-atom coverage
    let mut extra = String::new();
    if let Some(r) = opts.get("--reference") {
        let reference = Reference::load(Path::new(r))?;
        reference.check_model(&reference.type_map, params.rcut)?;
        let types = &atype[..n];
        let mut proj = Vec::new();
        let t = Instant::now();
        for _ in 0..repeat.max(1) {
            reference.project(&out, types, &mut proj)?;
        }
        let project_s = t.elapsed().as_secs_f64() / repeat.max(1) as f64;
        let t = Instant::now();
        let mut c = reference.coverage(&out, types)?;
        for _ in 1..repeat.max(1) {
            c = reference.coverage(&out, types)?;
        }
        let cov_s = t.elapsed().as_secs_f64() / repeat.max(1) as f64;
        extra = format!(
            ", \"project_us_per_atom\": {:.3}, \"coverage_us_per_atom\": {:.3}, \"coverage\": {:.6}, \"m\": {:?}",
            1e6 * project_s / n as f64,
            1e6 * cov_s / n as f64,
            c.overall.unwrap_or(f64::NAN),
            reference.elements.iter().map(|e| e.as_ref().map(|e| e.pca.m).unwrap_or(0)).collect::<Vec<_>>()
        );
    }
    println!(
        "{{\"atoms\": {n}, \"features\": {}, \"max_neighbors\": {}, \"threads\": {}, \"seconds_per_frame\": {each:.6}, \"us_per_atom\": {:.3}, \"images_seconds\": {images_s:.3}{extra}}}",
        params.len(),
        ext.width,
        rayon::current_num_threads(),
        1e6 * each / n as f64
    );
    Ok(())
}

fn coverage_cmd(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("build") => coverage_build(&args[1..]),
        Some("check") => coverage_check(&args[1..]),
        Some("bench") => coverage_bench(&args[1..]),
        _ => Err(Error::Input(
            "usage: llzo-dp coverage build (--type-map Li,La,Zr,O --rcut 6.0 | --model M) [--grid 20] [--threshold 0.95] [--max-components M] [--radial 8] [--rmin 1.0] -o REF.json SYSTEM...\n       llzo-dp coverage check REF.json SYSTEM... [--model M] [--csv FILE] [--pcs-csv FILE]\n       llzo-dp coverage bench DATA [--type-map ...] [--rcut 6.0] [--repeat 20] [--reference REF.json]".into(),
        )),
    }
}

fn run(args: &[String]) -> Result<()> {
    let usage = || Error::Input("usage: llzo-dp info MODEL | llzo-dp eval MODEL DATA [--device auto|cpu|cuda|cuda:N] [--backend auto|native|torch] [--threads N] [--fparam V,..] [--aparam V,..] | llzo-dp coverage build|check|bench ...".into());
    match args.first().map(String::as_str) {
        Some("coverage") => coverage_cmd(&args[1..]),
        Some("info") if args.len() == 2 => info(&args[1]),
        Some("eval") if args.len() >= 3 && args.len() % 2 == 1 => {
            // --device D / --backend B / --threads N, as the pair_style keywords
            let mut words = vec![args[1].clone()];
            for pair in args[3..].chunks(2) {
                let known = ["device", "backend", "threads", "fparam", "aparam"];
                let key = pair[0].strip_prefix("--").filter(|k| known.contains(k)).ok_or_else(usage)?;
                words.push(key.to_string());
                // --fparam / --aparam take their values as one comma-separated word
                words.extend(pair[1].split(',').map(str::to_string));
            }
            let mut settings = llzo_dp::settings::PairSettings::parse(&words)?;
            if !args[3..].iter().any(|a| a == "--device") {
                settings.device = DeviceChoice::Cpu;
            }
            eval(&args[2], &settings)
        }
        _ => Err(usage()),
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(k) = args.iter().position(|a| a == "--trust-model") {
        args.remove(k);
        TRUST_MODEL.store(true, Ordering::Relaxed);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llzo-dp: {e}");
            ExitCode::FAILURE
        }
    }
}
