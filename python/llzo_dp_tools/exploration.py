"""The exploration stage of active learning: MD with pair_style llzo_dp and its coverage
monitor over a set of conditions, dispatched as jobs by dpdispatcher, and the frames the
monitor dumped gathered as labelling candidates.

One directory per condition holds `in.explore` and `start.data`; the model and the coverage
reference sit once in the stage directory (dpdispatcher's common files). Every task writes
`uncertain/` (the monitor's CSV and the frames below its threshold, deepmd/npy and extxyz) and
`log.lammps`. For the other selection criteria (`selection`) a stage also samples the
trajectory (`traj.dump` every `Sampling.every` steps) and, with an ensemble of models
(`ens_1.pth`, ...), writes DP-GEN's `model_devi.out` at the same steps. A machine description (dpdispatcher's `Machine` and `Resources` as a dict or JSON
file) sends the same tasks to Slurm, PBS or LSF; the default is this machine's shell, with at
most `parallel` tasks at a time.
"""
from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import structures as L
from .lammps import LMP, read_dump
from .selection import Candidate, fingerprints_from_pcs

TYPE_MAP = ("Li", "La", "Zr", "O")


@dataclass(frozen=True)
class Condition:
    name: str
    temperature: float           # K
    cells: tuple = (1, 1, 1)     # conventional t-LLZO cells
    ensemble: str = "npt"        # "npt" (aniso, 1 bar unless `pressure`) or "nvt"
    pressure: float = 1.0        # bar
    steps: int = 2000
    seed: int = 1


@dataclass(frozen=True)
class MonitorSettings:
    every: int = 10
    threshold: float = 0.95
    max_frames: int = 20
    min_gap: int = 100


@dataclass(frozen=True)
class Sampling:
    """Trajectory frames for the deviation and random criteria: every `every` steps (0: none),
    with the models `ensemble` (file names in the stage) next to the driving one."""
    every: int = 0
    ensemble: tuple = ()


def lammps_input(c: Condition, m: MonitorSettings, model: str, reference: str, sampling: Sampling = Sampling(),
                 halt_volume_change: float = 0.0) -> str:
    """The condition's LAMMPS input. With `halt_volume_change` > 0 the run stops (and the
    script goes on, as after a finished run) once |V/V0 - 1| exceeds it: a cell swelling
    without bound has left the territory worth exploring (`frame_filter`)."""
    if c.ensemble not in ("npt", "nvt"):
        raise ValueError(f"condition {c.name}: ensemble must be npt or nvt, got {c.ensemble!r}")
    barostat = (f"fix md all npt temp {c.temperature} {c.temperature} 0.1 aniso {c.pressure} {c.pressure} 0.5"
                if c.ensemble == "npt" else f"fix md all nvt temp {c.temperature} {c.temperature} 0.1")
    models, deviation, dump = model, "", []
    if sampling.every:
        dump = [f"dump traj all custom {sampling.every} traj.dump id type x y z",
                "dump_modify traj sort id format float %.10g"]
        if sampling.ensemble:
            models = " ".join([model, *(f"../{e}" for e in sampling.ensemble)])
            deviation = f" out_file model_devi.out out_freq {sampling.every}"
    halt = (["variable v0 equal $(vol)", "variable vchange equal abs(vol/v_v0-1)",
             f"fix halt all halt 10 v_vchange > {halt_volume_change} error soft"] if halt_volume_change > 0 else [])
    return "\n".join([
        "units metal", "atom_style atomic", "boundary p p p", "read_data start.data",
        f"pair_style llzo_dp {models}{deviation} coverage {reference} coverage_every {m.every} "
        f"coverage_threshold {m.threshold} coverage_dir uncertain coverage_formats npy,extxyz "
        f"coverage_max_frames {m.max_frames} coverage_min_gap {m.min_gap}",
        "pair_coeff * * Li La Zr O", "timestep 0.001",
        f"velocity all create {c.temperature} {c.seed} mom yes rot yes dist gaussian",
        barostat, *halt, *dump, "thermo 100", f"run {c.steps}", ""])


def start_structure(c: Condition) -> L.Structure:
    return L.supercell(L.tetragonal_llzo("exp"), *c.cells)


def start_volume_per_atom(d: Path) -> float:
    """The starting cell's volume per atom of the condition in directory d."""
    c = json.loads((d / "condition.json").read_text())
    s = start_structure(Condition(**{**c, "cells": tuple(c["cells"])}))
    return s.volume / len(s)


def prepare(stage: Path, conditions: list[Condition], monitor: MonitorSettings, model: Path, reference: Path,
            sampling: Sampling = Sampling(), ensemble: tuple = (), halt_volume_change: float = 0.0) -> None:
    """Writes the stage: models and reference once, one directory per condition. `ensemble`:
    the paths of the models named in `sampling.ensemble`, in that order."""
    stage.mkdir(parents=True, exist_ok=True)
    for src, name in ((model, "model.pth"), (reference, "coverage_reference.json"), *zip(ensemble, sampling.ensemble)):
        _link_or_copy(Path(src).resolve(), stage / name)
    for c in conditions:
        d = stage / c.name
        d.mkdir(exist_ok=True)
        L.write_lammps_data(str(d / "start.data"), start_structure(c), f"t-LLZO {c.cells}")
        L._atomic_write_text(d / "in.explore", lammps_input(c, monitor, "../model.pth", "../coverage_reference.json",
                                                            sampling, halt_volume_change))
        L._atomic_write_text(d / "condition.json", json.dumps(asdict(c)) + "\n")


def local_machine(stage: Path, parallel: int = 1) -> dict:
    """dpdispatcher description of this machine's shell, `parallel` tasks at a time."""
    return dict(machine=dict(batch_type="Shell", context_type="LocalContext", local_root=str(stage),
                             remote_root=str(stage / ".dispatch")),
                resources=dict(number_node=1, cpu_per_node=parallel, gpu_per_node=0, queue_name="",
                               group_size=10 ** 6, para_deg=parallel))


def dispatch(stage: Path, names: list[str], machine: dict | None = None, parallel: int = 1,
             sampling: Sampling = Sampling()) -> None:
    """Runs the conditions' LAMMPS jobs through dpdispatcher; resumable: dpdispatcher keeps the
    submission's state, and a condition whose log says it finished, or stopped with a LAMMPS
    error, is not run again. A run the model loses (atoms lost or too close, an unphysical box)
    is what exploration is for: it ends early (or halts at the volume bound), its frames up to
    there stay candidates, subject to `frame_filter`."""
    from dpdispatcher import Machine, Resources, Submission, Task

    todo = [n for n in names if not (finished(stage / n) or ended_early(stage / n))]
    if not todo:
        return
    desc = machine or local_machine(stage, parallel)
    # LAMMPS's error exit is an outcome here (ended_early), not a job to retry; `uncertain` is
    # brought back even when the run stops before the monitor's first frame
    command = f"mkdir -p uncertain && {{ {LMP} -in in.explore -log log.lammps -screen none || grep -q ERROR log.lammps; }}"
    tasks = [Task(command=command, task_work_path=f"{n}/", forward_files=["in.explore", "start.data"],
                  backward_files=["log.lammps", "uncertain", *sampled_files(sampling)], outlog="out.log",
                  errlog="err.log") for n in todo]
    sub = Submission(work_base=".", machine=Machine.load_from_dict(desc["machine"]),
                     resources=Resources.load_from_dict(desc["resources"]), task_list=tasks,
                     forward_common_files=["model.pth", "coverage_reference.json", *sampling.ensemble])
    sub.run_submission(check_interval=2)
    failed = [n for n in todo if not (finished(stage / n) or ended_early(stage / n))]
    if failed:
        raise RuntimeError(f"exploration did not finish for {failed}: see {stage}/<condition>/log.lammps")


def sampled_files(sampling: Sampling) -> list[str]:
    return (["traj.dump"] + (["model_devi.out"] if sampling.ensemble else [])) if sampling.every else []


def trajectory_frames(d: Path) -> dict[int, L.Structure]:
    """Step -> the sampled frame of one condition (`traj.dump`)."""
    out = {}
    for f in read_dump(d / "traj.dump"):
        symbols = [TYPE_MAP[int(t) - 1] for t in f["type"]]
        out[f["step"]] = L.Structure(f["box"], np.stack([f["x"], f["y"], f["z"]], axis=1), symbols)
    return out


def finished(d: Path) -> bool:
    log = d / "log.lammps"
    return log.exists() and "Total wall time" in log.read_text(errors="replace")


def halted(d: Path) -> bool:
    """The run stopped at the volume bound (`lammps_input`)."""
    log = d / "log.lammps"
    return log.exists() and "Fix halt condition" in log.read_text(errors="replace")


def ended_early(d: Path) -> bool:
    """The MD stopped with a LAMMPS error after it had started (its thermo header is in the log):
    the model lost the run. An error before the first step (a refused pair_style, a missing
    file) is a broken input, not an outcome."""
    log = d / "log.lammps"
    if not log.exists():
        return False
    text = log.read_text(errors="replace")
    if "Total wall time" in text or "ERROR" not in text:
        return False
    started = re.search(r"^\s*Step\s", text, flags=re.M)
    return started is not None and started.start() < text.index("ERROR")


def frame_coverages(d: Path) -> dict[int, float]:
    """Step -> frame coverage of the frames the monitor dumped in one condition."""
    path = d / "uncertain" / "coverage.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {int(r["step"]): float(r["overall"]) for r in csv.DictReader(f) if r["dumped"].strip() == "1"}


def mean_coverage(d: Path) -> float:
    """Mean frame coverage over the monitored steps of one condition (nan if none was monitored)."""
    if not (d / "uncertain" / "coverage.csv").exists():
        return math.nan
    with open(d / "uncertain" / "coverage.csv", newline="") as f:
        values = [float(r["overall"]) for r in csv.DictReader(f)]
    return sum(values) / len(values) if values else math.nan


def frame_dir(stage: Path, key: str) -> Path:
    """The deepmd/npy system the monitor dumped for a candidate key "condition:step"."""
    name, step = key.rsplit(":", 1)
    return stage / name / "uncertain" / f"step_{int(step):09d}.npy"


def candidates(stage: Path, names: list[str], cli: Path) -> list[Candidate]:
    """The dumped frames of all conditions, with their coverage and PCA fingerprint."""
    systems, out = [], []
    for n in names:
        for step, cov in sorted(frame_coverages(stage / n).items()):
            sys_dir = frame_dir(stage, f"{n}:{step}")
            if sys_dir.is_dir():
                systems.append((f"{n}:{step}", sys_dir, cov))
    if not systems:
        return []
    pcs = stage / "candidates_pcs.csv"
    p = subprocess.run([str(cli), "coverage", "check", str(stage / "coverage_reference.json"),
                        *[str(s) for _, s, _ in systems], "--pcs-csv", str(pcs)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"llzo-dp coverage check failed: {p.stderr[-2000:]}")
    fps = fingerprints_from_pcs(pcs, TYPE_MAP)
    for key, sys_dir, cov in systems:
        out.append(Candidate(key, cov, fps.get(f"{sys_dir}:0", ())))
    return out


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    try:
        os.symlink(src, dst)
    except OSError:
        import shutil
        shutil.copy(src, dst)
