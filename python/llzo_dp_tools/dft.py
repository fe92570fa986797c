"""DFT-PBE labels with GPAW (Debian's `gpaw` and `gpaw-data` packages): settings, the La setup,
and a resumable labeller that runs one frame per process and caches results by frame hash.

GPAW runs under Debian's Python, not the project's venv, so each frame is a subprocess of
`gpaw_worker.py` (one MPI-free serial process, one thread). Results are cached under
`$LLZO_DP_CACHE/dft/<key>.npz`, keyed by the frame, the settings, the GPAW version and the setups'
content: a rerun after a crash computes only what is missing.

The settings follow the paper's (VASP PBE, 500 eV, Gaussian smearing 0.1 eV) where affordable on
two cores; the paper's k-spacing is replaced by the Gamma point for 96-atom cells, its error
measured on one frame (models/llzo/dft/README.md). Not spin-polarised: LLZO is a closed-shell
insulator.

    python -m llzo_dp_tools.dft setup          # generate and check the La setup (once)
    python -m llzo_dp_tools.dft label in.extxyz out.extxyz [--ecut 500] [--workers 2]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import structures as L

GPAW_PYTHON = os.environ.get("LLZO_DP_GPAW_PYTHON", "/usr/bin/python3")
DEBIAN_SETUPS = Path("/usr/share/gpaw-setups")
WORKER = Path(__file__).with_name("gpaw_worker.py")
# gpaw-data has no lanthanide; La gets a setup made by GPAW's own generator (`gpaw dataset`):
# 11 valence electrons (5s2 5p6 5d1 6s2), scalar-relativistic, with its dzp basis. Recipes differ
# in the projectors and the cutoff radius (Bohr); validate_la_setup.py (models/llzo/dft) measures
# each on La2O3 against published PBE. The default has a 4f projector and a 1.7 Bohr radius, the
# smallest radius without ghost states (1.5 has them): larger radii, or no 4f projector, put
# La2O3 under several GPa more expansion stress at the experimental cell (README there).
LA_RECIPES = {
    "r2.2": "5s,6s,5p,6p,5d,d:2.2",
    "r1.9": "5s,6s,5p,6p,5d,d:1.9",
    "4f-r2.2": "5s,6s,5p,6p,5d,d,4f:2.2",
    "4f-r1.9": "5s,6s,5p,6p,5d,d,4f:1.9",
    "4f-r1.7": "5s,6s,5p,6p,5d,d,4f:1.7",
}
LA_DEFAULT = "4f-r1.7"
LA_SETUP_FILES = ("La.PBE", "La.dzp.basis")


def cache_root() -> Path:
    return Path(os.environ.get("LLZO_DP_CACHE", Path.home() / ".cache" / "llzo_dp"))


@dataclass(frozen=True)
class DftSettings:
    ecut: float = 500.0          # eV, plane waves
    kpts: tuple | None = None    # Monkhorst-Pack mesh; None = Gamma point only
    smearing: float = 0.1        # eV, Gaussian
    xc: str = "PBE"
    scf_energy: float = 1e-6     # eV per valence electron, change over the last 3 iterations
    scf_density: float = 1e-5    # electrons per valence electron
    point_group: bool = False    # k-point reduction by the crystal's symmetry (perfect crystals only)
    la_setup: str = LA_DEFAULT   # a key of LA_RECIPES

    def as_worker(self) -> dict:
        d = asdict(self)
        d.pop("la_setup")  # chooses GPAW_SETUP_PATH, not a GPAW parameter
        if self.kpts is None:
            d.pop("kpts")
        else:
            d["kpts"] = {"size": list(self.kpts), "gamma": True}
        return d


@dataclass
class DftResult:
    energy: float                  # eV
    forces: np.ndarray             # eV/A
    stress: np.ndarray             # eV/A^3, ASE's sign (positive under tension)
    wall_s: float
    scf_iterations: int
    extra: dict = field(default_factory=dict)

    def virial(self, volume: float) -> np.ndarray:
        """DeePMD-kit's virial (eV): -stress * V."""
        return -self.stress * volume


def gpaw_available() -> bool:
    try:
        return subprocess.run([GPAW_PYTHON, "-c", "import gpaw"], capture_output=True).returncode == 0
    except OSError:  # no such interpreter
        return False


@lru_cache(maxsize=1)
def gpaw_version() -> str:
    out = subprocess.run([GPAW_PYTHON, "-c", "import gpaw; print(gpaw.__version__)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def la_generator(recipe: str) -> list[str]:
    if recipe not in LA_RECIPES:
        raise ValueError(f"unknown La setup recipe {recipe!r}; known: {', '.join(LA_RECIPES)}")
    projectors, radius = LA_RECIPES[recipe].split(":")
    return ["gpaw", "dataset", "La", "-f", "PBE", "-s", "-P", projectors, "-r", radius, "-w", "-b"]


def la_setup_dir(recipe: str = LA_DEFAULT) -> Path:
    return cache_root() / f"gpaw-setups-{gpaw_version()}" / f"La-{recipe}"


def make_la_setup(recipe: str = LA_DEFAULT) -> Path:
    """Generates the PBE La setup of a recipe and its dzp basis with GPAW's own generator
    (seconds), in a temporary folder renamed into place when complete. Idempotent."""
    dest = la_setup_dir(recipe)
    if all((dest / f).is_file() for f in LA_SETUP_FILES):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".La-", dir=dest.parent))
    cmd = la_generator(recipe)
    r = subprocess.run(cmd, cwd=tmp, env=worker_env(recipe), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    missing = [f for f in LA_SETUP_FILES if not (tmp / f).is_file()]
    if missing:
        raise RuntimeError(f"La setup generation left no {missing} in {tmp}")
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)
    return dest


def worker_env(recipe: str = LA_DEFAULT, threads: int = 1) -> dict:
    env = dict(os.environ)
    setups = [str(la_setup_dir(recipe))] if "GPAW_SETUP_PATH" not in env else [env["GPAW_SETUP_PATH"]]
    env.update({
        "GPAW_SETUP_PATH": ":".join(setups + [str(DEBIAN_SETUPS)]),
        "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_mpi_yield_when_idle": "1",
    })
    env.pop("PYTHONPATH", None)  # the venv's packages must not shadow Debian's
    env.pop("PYTHONHOME", None)
    return env


@lru_cache(maxsize=None)
def setups_fingerprint(recipe: str = LA_DEFAULT) -> str:
    h = hashlib.sha256()
    for f in LA_SETUP_FILES:
        h.update((la_setup_dir(recipe) / f).read_bytes())
    return h.hexdigest()[:16]


def frame_key(s: L.Structure, settings: DftSettings, task: str = "single") -> str:
    """Hash of what determines the result: positions and cell to 1e-6 A, species, settings, task,
    GPAW version and the La setup."""
    h = hashlib.sha256()
    h.update(np.round(s.cell, 6).astype(np.float64).tobytes())
    h.update(np.round(s.positions, 6).astype(np.float64).tobytes())
    h.update(" ".join(s.symbols).encode())
    h.update(json.dumps([settings.as_worker(), task, gpaw_version(), setups_fingerprint(settings.la_setup)], sort_keys=True).encode())
    return h.hexdigest()[:24]


def _run_worker(s: L.Structure, settings: DftSettings, task: str, out: Path, log) -> None:
    job = {"cell": s.cell.tolist(), "positions": s.positions.tolist(), "symbols": list(s.symbols),
           "settings": settings.as_worker(), "task": task}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".job-") as work:
        job_path = Path(work) / "job.json"
        job_path.write_text(json.dumps(job))
        partial = Path(work) / "result.npz"
        r = subprocess.run([GPAW_PYTHON, str(WORKER), str(job_path), str(partial)], env=worker_env(settings.la_setup),
                           cwd=work, capture_output=True, text=True)
        if r.returncode != 0 or not partial.is_file():
            tail = (Path(str(partial) + ".txt").read_text()[-3000:] if Path(str(partial) + ".txt").is_file() else "")
            raise RuntimeError(f"GPAW worker failed for {out.name}: {r.stderr[-3000:]}\n{tail}")
        # the GPAW text log goes beside the result (kept for the SCF history), then the result
        shutil.copyfile(str(partial) + ".txt", str(out.with_suffix(".txt")) + ".tmp")
        os.replace(str(out.with_suffix(".txt")) + ".tmp", out.with_suffix(".txt"))
        os.replace(partial, out)
    log(f"dft: {out.stem} done ({s.info.get('name', '?')}, {settings.ecut:.0f} eV, {settings.kpts or 'Gamma'})")


def read_result(path: Path) -> DftResult:
    with np.load(path) as z:
        extra = {k: z[k] for k in z.files if k not in ("energy", "forces", "stress", "wall_s", "scf_iterations")}
        return DftResult(float(z["energy"]), z["forces"].copy(), z["stress"].copy(), float(z["wall_s"]),
                         int(z["scf_iterations"]), extra)


def label(frames: list[L.Structure], settings: DftSettings, workers: int = 2, task: str = "single",
          log=print) -> list[DftResult | None]:
    """Labels every frame with one setting (cached ones are read back); see label_jobs."""
    return label_jobs([(s, settings, task) for s in frames], workers=workers, log=log)


def label_jobs(jobs: list[tuple[L.Structure, DftSettings, str]], workers: int = 2,
               log=print) -> list[DftResult | None]:
    """Runs (frame, settings, task) jobs in the order given, `workers` processes at a time, and
    returns their results; a job whose worker failed comes back None with the failure logged, so
    one bad frame does not stop a batch."""
    if not gpaw_available():
        raise RuntimeError(f"GPAW is not importable by {GPAW_PYTHON}: run scripts/setup.sh --dft "
                           "(installs Debian's gpaw and gpaw-data)")
    for recipe in {st.la_setup for _, st, _ in jobs}:
        make_la_setup(recipe)
    paths = [result_path(s, st, task) for s, st, task in jobs]
    todo = [i for i, p in enumerate(paths) if not p.is_file()]
    log(f"dft: {len(jobs) - len(todo)} of {len(jobs)} jobs cached, {len(todo)} to compute "
        f"({workers} processes)")

    def one(i):
        t = time.time()
        s, st, task = jobs[i]
        try:
            _run_worker(s, st, task, paths[i], log)
        except Exception as e:  # noqa: BLE001 - reported per frame, the batch goes on
            log(f"dft: job {i} ({s.info.get('name', '?')}) failed after {time.time() - t:.0f} s: {e}")

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(one, todo))
    return [read_result(p) if p.is_file() else None for p in paths]


def result_path(s: L.Structure, settings: DftSettings, task: str = "single") -> Path:
    return cache_root() / "dft" / f"{frame_key(s, settings, task)}.npz"


def cached(jobs: list[tuple[L.Structure, DftSettings, str]]) -> list[DftResult | None]:
    """The results of the jobs already computed, None for the others; computes nothing."""
    return [read_result(p) if (p := result_path(s, st, task)).is_file() else None for s, st, task in jobs]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m llzo_dp_tools.dft", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("setup", help="generate the La setup (idempotent) and print where the setups are")
    lab = sub.add_parser("label", help="label the frames of an extxyz file")
    lab.add_argument("inp")
    lab.add_argument("out")
    lab.add_argument("--ecut", type=float, default=DftSettings.ecut)
    lab.add_argument("--kpts", type=int, nargs=3, default=None)
    lab.add_argument("--workers", type=int, default=2)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "setup":
        print(make_la_setup())
        return 0
    frames = L.read_extxyz(args.inp)
    settings = DftSettings(ecut=args.ecut, kpts=tuple(args.kpts) if args.kpts else None)
    results = label(frames, settings, workers=args.workers)
    done = [(f, r) for f, r in zip(frames, results) if r is not None]
    L.write_extxyz(args.out, [f for f, _ in done], energies=[r.energy for _, r in done],
                   forces=[r.forces for _, r in done])
    print(f"{len(done)} of {len(frames)} frames labelled -> {args.out}")
    return 0 if len(done) == len(frames) else 1


if __name__ == "__main__":
    sys.exit(main())
