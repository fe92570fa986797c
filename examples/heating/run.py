#!/usr/bin/env python3
"""NPT temperature ladders of LLZO with pair_style llzo_dp: heating from ordered t-LLZO, cooling
from a Li-disordered cubic cell; then the analysis.

    python examples/heating/run.py --quick                  # the README's main job (192 atoms, minutes)
    python examples/heating/run.py --branch heating --out examples/heating/runs/ladder_2x2x2 \
        --temps 700 800 850 875 900 925 950 1000 1100 1200
    python examples/heating/run.py --branch cooling --out examples/heating/runs/ladder_2x2x2 \
        --temps 1200 1100 1000 950 925 900 875 850 800 700

Each branch lives in <out>/<branch>/, one directory per temperature ("rung", T<temp>/), each
started from the previous rung's final state. A rung is an equilibration (default 20 barostat
periods) and production in segments (seg00/, seg01/, ...): after each segment the rung's
production so far is split in halves, and the rung ends when the halves agree within their
errors for the Li order parameter eta and the three box lengths (at least --min-segments, at
most --max-segments; a rung that never agrees is kept and marked not stationary). Segments and
rungs are built under temporary names and renamed when finished, so an interrupted ladder
resumes with the same command at the first unfinished segment. A finished rung with fewer
segments than a later run's --min-segments goes on from its last state (long rungs:
--min-segments 20 --max-segments 20 gives 100 ps of production). The cost of every segment is
logged in the rung's rung.json.
"""

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

import analyze  # examples/heating/analyze.py and rung.py, next to this script
import rung
from llzo_dp_tools import structures
from llzo_dp_tools.lammps import LMP, tllzo, write_data

MODEL = ROOT / "models" / "llzo" / "llzo_dp_model.pth"
TRAINING = ROOT / "models" / "llzo" / "train" / "data-sevennet" / "training"  # the shipped model's
CLI = ROOT / "target" / "release" / "llzo-dp"
BRANCHES = ("heating", "cooling")
# The quick ladder is short (0.5 ps per rung), so its barostat period is short too (0.2 ps).
QUICK = dict(cells=[1, 1, 1], temps=[300, 900, 1500, 2500], equil=200, prod=300, every=10, xrd_every=100,
             li_every=50, pdamp=0.2, min_segments=1, max_segments=1)
# What one rung's LAMMPS run is told, and must not change within a run directory.
FIXED = ("cells", "branch", "equil", "prod", "every", "li_every", "barostat", "precision", "independent")


def rung_name(t):
    return f"T{int(round(t)):04d}"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the short main job: " + str(QUICK))
    ap.add_argument("--branch", choices=BRANCHES, default="heating",
                    help="heating: from ordered t-LLZO, temperatures ascending; cooling: from a Li-disordered "
                         "cubic cell, descending")
    ap.add_argument("--cells", type=int, nargs=3, default=[2, 2, 2])
    ap.add_argument("--temps", type=float, nargs="+",
                    default=[700, 800, 850, 875, 900, 925, 950, 1000, 1100, 1200])
    ap.add_argument("--pdamp", type=float, default=0.5, help="barostat period (ps)")
    ap.add_argument("--equil", type=int, default=None,
                    help="equilibration steps per rung (dt 1 fs; default 20 barostat periods)")
    ap.add_argument("--prod", type=int, default=5000, help="production steps per segment")
    ap.add_argument("--min-segments", type=int, default=2)
    ap.add_argument("--max-segments", type=int, default=8)
    ap.add_argument("--every", type=int, default=20, help="sampling interval of the box (steps)")
    ap.add_argument("--xrd-every", type=int, default=1000, help="steps between XRD snapshots")
    ap.add_argument("--li-every", type=int, default=100, help="steps between Li position snapshots (eta, hops, MSD)")
    ap.add_argument("--threshold", type=float, default=0.9, help="coverage threshold for dumping frames")
    ap.add_argument("--precision", choices=["auto", "float64", "float32"], default="auto",
                    help="the native evaluator's precision (float32: 1.6-1.7x faster, forces within 3e-7 relative)")
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--training", type=Path, default=TRAINING, help="deepmd/npy training set of the model")
    ap.add_argument("--out", type=Path, default=None, help="run directory (default: a new one under /tmp)")
    ap.add_argument("--compressed", action="store_true",
                    help="run the model compressed by 'dp --pt compress' (written into the run directory)")
    ap.add_argument("--independent", action="store_true",
                    help="start every rung from the branch's start structure (ordered t-LLZO or the disordered "
                         "cubic cell) instead of the previous rung: independent runs per temperature, which can "
                         "run side by side (one process per --temps value, same --out)")
    ap.add_argument("--seed", type=int, default=4928459)
    a = ap.parse_args(argv)
    if a.quick:
        for k, v in QUICK.items():
            setattr(a, k, v)
    if a.equil is None:
        a.equil = int(round(20 * a.pdamp * 1000))
    if a.prod % a.every or a.prod % a.xrd_every or a.prod % a.li_every:
        ap.error("--prod must be a multiple of --every, --xrd-every and --li-every")
    if not 1 <= a.min_segments <= a.max_segments:
        ap.error("need 1 <= --min-segments <= --max-segments")
    a.temps = sorted(a.temps, reverse=a.branch == "cooling")
    return a


def prepare(a, out):
    """The branch directory with its meta.json, start structure, coverage reference and model."""
    branch = out / a.branch
    branch.mkdir(parents=True, exist_ok=True)
    meta = dict(branch=a.branch, independent=a.independent, cells=a.cells, temps=a.temps, equil=a.equil, prod=a.prod,
                min_segments=a.min_segments, max_segments=a.max_segments, every=a.every, xrd_every=a.xrd_every,
                li_every=a.li_every, threshold=a.threshold, precision=a.precision, timestep_fs=1.0,
                model=str(os.path.relpath(a.model.resolve(), ROOT)) + (" (compressed)" if a.compressed else ""),
                barostat=f"Nose-Hoover NPT, aniso, Tdamp 0.1 ps, Pdamp {a.pdamp:g} ps, 1 bar",
                start="ordered t-LLZO (experimental lattice)" if a.branch == "heating" else
                      f"cubic LLZO, Li disordered on 24d/96h (llzo_dp_tools.structures.cubic_llzo, seed {a.seed % 1000})")
    old = branch / "meta.json"
    if old.exists():
        prev = json.loads(old.read_text())
        for k in FIXED:
            was = prev.get(k, False if k == "independent" else None)  # runs from before the option
            if was != meta[k]:
                sys.exit(f"{branch} holds a run with {k} = {was}, not {meta[k]}: use another --out")
    analyze.write_whole(branch / "meta.json", json.dumps(meta, indent=2) + "\n")

    model = a.model.resolve()
    if a.compressed:
        model = out / "model_compressed.pth"
        if not model.exists():
            print(f"compressing {a.model} (dp --pt compress)", flush=True)
            tmp = out / ".model_compressed.tmp.pth"
            subprocess.run(["dp", "--pt", "compress", "-i", str(a.model.resolve()), "-o", str(tmp)], cwd=out,
                           check=True, capture_output=True)
            os.replace(tmp, model)
    reference = out / "coverage_reference.json"
    if not reference.exists():
        print(f"building the coverage reference from {a.training}", flush=True)
        tmp = out / f".coverage_reference.{os.getpid()}.tmp.json"  # branches may start side by side
        subprocess.run([str(CLI), "coverage", "build", "--model", str(a.model), "-o", str(tmp), str(a.training)],
                       check=True, capture_output=True)
        os.replace(tmp, reference)
    data = branch / "start.data"
    if not data.exists():
        tmp = branch / f".start.{os.getpid()}.tmp.data"
        if a.branch == "heating":
            write_data(tmp, *tllzo(*a.cells))
        else:
            cubic = structures.supercell(structures.cubic_llzo(seed=a.seed % 1000), *a.cells)
            structures.write_lammps_data(str(tmp), cubic, "Li-disordered cubic LLZO")
        os.replace(tmp, data)
    return branch, model, reference, data


def run_segment(a, work, index, model, reference, start, first, t):
    """One LAMMPS run of in.heating into work/segNN (equilibration first when index == 0)."""
    seg = work / f"seg{index:02d}"
    tmp = work / f".seg{index:02d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    equil = a.equil if index == 0 else 0
    # start at a step that makes production end on a multiple of prod (fix ave/* output)
    step0 = a.prod * math.ceil(equil / a.prod) - equil
    coverage = (f"coverage {reference} coverage_every {a.every} coverage_threshold {a.threshold} "
                f"coverage_dir uncertain coverage_max_frames 5 coverage_min_gap {a.prod}")
    if a.precision != "auto":
        coverage = f"precision {a.precision} " + coverage
    # LAMMPS reads its input while it runs: give it a private copy (also a record of the segment)
    shutil.copy(HERE / "in.heating", tmp / "in.heating")
    variables = dict(model=model, start=start, first=first, T=f"{t:g}", equil=equil, prod=a.prod, every=a.every,
                     xrd_every=a.xrd_every, li_every=a.li_every, pdamp=f"{a.pdamp:g}", step0=step0,
                     coverage=coverage, seed=a.seed)
    cmd = [str(LMP), "-in", "in.heating", "-log", "log.lammps", "-screen", "none"]
    for k, v in variables.items():
        cmd += ["-var", k, str(v)]
    t0, cpu0 = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    log = (tmp / "log.lammps").read_text() if (tmp / "log.lammps").exists() else p.stdout
    if p.returncode != 0:
        err = [l for l in (log + p.stdout).splitlines() if "ERROR" in l]
        sys.exit(f"LAMMPS failed at {t:g} K (see {tmp}/log.lammps): {err or p.stderr[-2000:]}")
    os.replace(tmp / "restart.part", tmp / "restart.bin")
    seconds = time.time() - t0
    # CPU time as well as wall time: on a shared machine the wall time also counts the others
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    atom_steps = (equil + a.prod) * 192 * math.prod(a.cells)
    cost = dict(seconds=round(seconds, 1), cpu_seconds=round(cpu, 1), steps=equil + a.prod,
                us_per_atom_step=round(1e6 * seconds / atom_steps, 2), cpu_us_per_atom_step=round(1e6 * cpu / atom_steps, 2))
    analyze.write_whole(tmp / "cost.json", json.dumps(cost) + "\n")
    os.replace(tmp, seg)
    return seg, cost


def run_rung(a, branch, t, model, reference, start, first):
    """Equilibration and production segments until the halves agree; returns the finished rung."""
    done = branch / rung_name(t)
    work = branch / ("." + rung_name(t) + ".tmp")
    work.mkdir(exist_ok=True)
    segs = sorted(work.glob("seg[0-9][0-9]"))
    check = rung.stationarity(work, a.cells) if segs else None  # resuming: the segments so far

    def finished():
        n = len(segs)
        return n >= a.max_segments or (n >= a.min_segments and check["stationary"])

    while not segs or not finished():
        if segs:
            start, first = segs[-1] / "restart.bin", 2
        seg, cost = run_segment(a, work, len(segs), model, reference, start, first, t)
        if segs:  # only the newest segment's restart file is needed to go on
            (segs[-1] / "restart.bin").unlink(missing_ok=True)
        segs.append(seg)
        check = rung.stationarity(work, a.cells)
        print(f"  {t:6g} K segment {len(segs) - 1}: {cost['seconds']:6.0f} s "
              f"({cost['cpu_us_per_atom_step']:.1f} CPU µs/atom-step); {check['line']}", flush=True)
    record = dict(T=t, segments=len(segs), stationary=check["stationary"], halves=check["halves"],
                  costs=[json.loads((s / "cost.json").read_text()) for s in segs])
    analyze.write_whole(work / "rung.json", json.dumps(record, indent=2) + "\n")
    shutil.rmtree(done, ignore_errors=True)
    os.replace(work, done)
    return done


def reopen_if_short(a, branch, t):
    """Reopen a finished rung with fewer production segments than --min-segments, so that it
    goes on from its last state; True if reopened. A ladder rung is reopened only while no
    later rung has started from its end."""
    done = branch / rung_name(t)
    segs = sorted(done.glob("seg[0-9][0-9]"))
    if len(segs) >= a.min_segments:
        return False
    if not (segs[-1] / "restart.bin").exists():
        sys.exit(f"cannot extend {done}: the restart file of its last segment is gone")
    if not a.independent:
        later = [p.name for p in branch.glob("T[0-9]*") if p.name.lstrip("T").isdigit()
                 and (int(p.name[1:]) > t if a.branch == "heating" else int(p.name[1:]) < t)]
        if later:
            sys.exit(f"cannot extend {done}: {', '.join(sorted(later))} started from its end; use a new --out")
    print(f"  {t:6g} K: extending from {len(segs)} to at least {a.min_segments} segments", flush=True)
    os.replace(done, branch / ("." + rung_name(t) + ".tmp"))
    return True


def main(argv=None):
    a = parse_args(argv)
    out = (a.out or Path(f"/tmp/llzo_ladder_{'x'.join(map(str, a.cells))}_{os.getpid()}")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    branch, model, reference, data = prepare(a, out)
    natoms = 192 * math.prod(a.cells)
    print(f"{a.branch}: {natoms} atoms, T = {' '.join(f'{t:g}' for t in a.temps)} K, {a.equil} equilibration + "
          f"{a.min_segments}-{a.max_segments} x {a.prod} production steps per rung, in {branch}", flush=True)
    start, first, previous = data, 1, None
    for t in a.temps:
        done = branch / rung_name(t)
        if done.exists() and not reopen_if_short(a, branch, t):  # finished rungs were renamed into place whole
            previous = done
            continue
        if previous is not None and not a.independent:
            last = sorted(previous.glob("seg[0-9][0-9]"))[-1]
            if not (last / "restart.bin").exists():
                sys.exit(f"cannot add {t:g} K after {previous.name}: its restart file is gone; use a new --out")
            start, first = last / "restart.bin", 0
        t0 = time.time()
        done = run_rung(a, branch, t, model, reference, start, first)
        if previous is not None and not a.independent:  # only the newest rung's restart is needed to resume
            for old in previous.glob("seg[0-9][0-9]/restart.bin"):
                old.unlink()
        previous = done
        print(f"  {t:6g} K done in {time.time() - t0:6.0f} s", flush=True)
    analyze.analyze(out)


if __name__ == "__main__":
    main()
