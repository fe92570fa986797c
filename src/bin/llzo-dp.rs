//! `llzo-dp`: command-line tools around the core.
//!
//! ```text
//! llzo-dp info MODEL                      model metadata (cutoff, type map, sel, ...)
//! llzo-dp eval MODEL DATA [--device D]    energy, forces and virial of a LAMMPS data file
//! ```
//! `eval` builds the periodic images itself (brute force, for small cells) and calls the
//! same model code as the pair style; it exists to check a model or a device (CUDA)
//! without LAMMPS.

use std::process::ExitCode;

use llzo_dp::error::{Error, Result};
use llzo_dp::model::{resolve_device, Evaluation, Model};
use llzo_dp::settings::DeviceChoice;
use tch::Tensor;

struct Frame {
    /// cell rows a, b, c (Å)
    cell: [[f64; 3]; 3],
    pos: Vec<[f64; 3]>,
    /// 1-based LAMMPS types
    types: Vec<usize>,
}

fn read_lammps_data(path: &str) -> Result<Frame> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{path}: {e}")))?;
    let mut lo = [0.0; 3];
    let mut len = [0.0; 3];
    let (mut xy, mut xz, mut yz) = (0.0, 0.0, 0.0);
    let mut natoms = 0usize;
    let mut lines = text.lines();
    let num = |s: &str| s.parse::<f64>().map_err(|_| Error::Input(format!("{path}: bad number '{s}'")));
    while let Some(line) = lines.next() {
        let w: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
        match w.as_slice() {
            [n, "atoms"] => natoms = n.parse().map_err(|_| Error::Input(format!("{path}: bad atom count")))?,
            [a, b, axis, _] if axis.ends_with("lo") => {
                let k = match *axis { "xlo" => 0, "ylo" => 1, _ => 2 };
                lo[k] = num(a)?;
                len[k] = num(b)? - lo[k];
            }
            [a, b, c, "xy", "xz", "yz"] => (xy, xz, yz) = (num(a)?, num(b)?, num(c)?),
            ["Atoms", ..] => break,
            _ => {}
        }
    }
    let mut rows: Vec<(usize, usize, [f64; 3])> = Vec::with_capacity(natoms);
    for line in lines {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 5 {
            if rows.is_empty() { continue } else { break }
        }
        let id = w[0].parse().map_err(|_| Error::Input(format!("{path}: bad atom id '{}'", w[0])))?;
        let t = w[1].parse().map_err(|_| Error::Input(format!("{path}: bad type '{}'", w[1])))?;
        rows.push((id, t, [num(w[2])? - lo[0], num(w[3])? - lo[1], num(w[4])? - lo[2]]));
    }
    if rows.len() != natoms {
        return Err(Error::Input(format!("{path}: {} atom lines for {natoms} atoms", rows.len())));
    }
    rows.sort_by_key(|r| r.0);
    Ok(Frame {
        cell: [[len[0], 0.0, 0.0], [xy, len[1], 0.0], [xz, yz, len[2]]],
        pos: rows.iter().map(|r| r.2).collect(),
        types: rows.iter().map(|r| r.1).collect(),
    })
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn norm(a: [f64; 3]) -> f64 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}

/// Extended atoms (locals first, then images within `rcut` of a local) and the nlist.
fn extend(f: &Frame, rcut: f64) -> (Vec<f64>, Vec<usize>, Vec<i64>, usize) {
    let [a, b, c] = f.cell;
    let vol = a[0] * b[1] * c[2];
    let widths = [vol / norm(cross(b, c)), vol / norm(cross(c, a)), vol / norm(cross(a, b))];
    let reps: Vec<i64> = widths.iter().map(|w| (rcut / w).ceil() as i64).collect();
    let n = f.pos.len();
    let mut coords: Vec<f64> = f.pos.iter().flatten().copied().collect();
    let mut owner: Vec<usize> = (0..n).collect();
    let mut rows: Vec<Vec<i64>> = vec![Vec::new(); n];
    let rc2 = rcut * rcut;
    for i in -reps[0]..=reps[0] {
        for j in -reps[1]..=reps[1] {
            for k in -reps[2]..=reps[2] {
                let s: Vec<f64> = (0..3).map(|d| i as f64 * a[d] + j as f64 * b[d] + k as f64 * c[d]).collect();
                for (m, p) in f.pos.iter().enumerate() {
                    let q = [p[0] + s[0], p[1] + s[1], p[2] + s[2]];
                    let mut ext = None;
                    for (l, x) in f.pos.iter().enumerate() {
                        let d2 = (q[0] - x[0]).powi(2) + (q[1] - x[1]).powi(2) + (q[2] - x[2]).powi(2);
                        if d2 >= rc2 || (i, j, k, m) == (0, 0, 0, l) {
                            continue;
                        }
                        let e = *ext.get_or_insert_with(|| {
                            if (i, j, k) == (0, 0, 0) {
                                return m as i64;
                            }
                            coords.extend_from_slice(&q);
                            owner.push(m);
                            (owner.len() - 1) as i64
                        });
                        rows[l].push(e);
                    }
                }
            }
        }
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let mut nlist = vec![-1i64; n * width];
    for (l, r) in rows.iter().enumerate() {
        nlist[l * width..l * width + r.len()].copy_from_slice(r);
    }
    (coords, owner, nlist, width)
}

fn eval(model_path: &str, data: &str, device: DeviceChoice) -> Result<()> {
    let model = Model::load(model_path, resolve_device(device, 0)?)?;
    let frame = read_lammps_data(data)?;
    let (coords, owner, nlist, width) = extend(&frame, model.info.rcut);
    let n = frame.pos.len();
    let types: Vec<i64> = owner.iter().map(|&o| frame.types[o] as i64 - 1).collect();
    let atype = Tensor::f_from_slice(&types)?.f_view([1, owner.len() as i64])?.f_to_device(model.device)?;
    let nl = Tensor::f_from_slice(&nlist)?.f_view([1, n as i64, width as i64])?.f_to_device(model.device)?;
    let mut out = Evaluation::default();
    let t0 = std::time::Instant::now();
    model.evaluate(&coords, &atype, &nl, false, &mut out)?;
    let first = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    const REPEATS: usize = 5;
    for _ in 0..REPEATS {
        model.evaluate(&coords, &atype, &nl, false, &mut out)?;
    }
    let each = t1.elapsed().as_secs_f64() / REPEATS as f64;
    let mut force = vec![[0.0f64; 3]; n];
    for (e, &o) in owner.iter().enumerate() {
        for d in 0..3 {
            force[o][d] += out.force[3 * e + d];
        }
    }
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.17e}")).collect::<Vec<_>>().join(", ");
    let forces: Vec<String> = force.iter().map(|f| format!("[{}]", fmt(f))).collect();
    println!(
        "{{\"device\": \"{:?}\", \"atoms\": {n}, \"energy\": {:.17e}, \"virial\": [{}], \"seconds_first\": {first:.4}, \"seconds_per_call\": {each:.5}, \"forces\": [{}]}}",
        model.device,
        out.energy,
        fmt(&out.virial),
        forces.join(", ")
    );
    Ok(())
}

fn info(model_path: &str) -> Result<()> {
    let _ = resolve_device(DeviceChoice::Auto, 0); // loads the CUDA backend when present
    let model = Model::load(model_path, tch::Device::Cpu)?;
    let i = &model.info;
    println!("model      {model_path}");
    println!("type map   {}", i.type_map.join(" "));
    println!("rcut       {} Å", i.rcut);
    println!("sel        {:?}", i.sel);
    println!("fparam     {}  aparam {}  message passing {}", i.dim_fparam, i.dim_aparam, i.message_passing);
    println!("cuda       {} device(s) visible", tch::Cuda::device_count());
    Ok(())
}

fn run(args: &[String]) -> Result<()> {
    let usage = || Error::Input("usage: llzo-dp info MODEL | llzo-dp eval MODEL DATA [--device auto|cpu|cuda|cuda:N]".into());
    match args.first().map(String::as_str) {
        Some("info") if args.len() == 2 => info(&args[1]),
        Some("eval") if args.len() == 3 || args.len() == 5 => {
            let device = if args.len() == 5 && args[3] == "--device" {
                llzo_dp::settings::PairSettings::parse(&[args[1].clone(), "device".into(), args[4].clone()])?.device
            } else if args.len() == 3 {
                DeviceChoice::Cpu
            } else {
                return Err(usage());
            };
            eval(&args[1], &args[2], device)
        }
        _ => Err(usage()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llzo-dp: {e}");
            ExitCode::FAILURE
        }
    }
}
