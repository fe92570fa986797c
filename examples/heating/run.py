#!/usr/bin/env python3
"""NPT heating ladder of tetragonal LLZO with pair_style llzo_dp, then the analysis.

    python examples/heating/run.py --quick                 # the README's main job (1x1x1, minutes)
    python examples/heating/run.py --cells 2 2 2 --out examples/heating/results/tllzo_2x2x2 \
        --temps 300 500 700 800 850 900 950 1000 1100 1300 1500 2000 2500 --equil 400 --prod 600

Each temperature ("rung") is one LAMMPS run of in.heating, started from the previous rung's
restart file, in its own directory <out>/T<temp>/. A rung directory is built under a temporary
name and renamed when LAMMPS has finished, so an interrupted ladder resumes at the first missing
rung with the same command. Uses the shipped LLZO model (models/llzo/) and an in-run coverage
monitor against that model's training set.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

import analyze  # examples/heating/analyze.py, next to this script
from llzo_dp_tools.lammps import LMP, tllzo, write_data

MODEL = ROOT / "models" / "llzo" / "llzo_dp_model.pth"
TRAINING = ROOT / "models" / "llzo" / "train" / "data" / "training"
CLI = ROOT / "target" / "release" / "llzo-dp"
# The quick ladder is short (0.5 ps per rung), so its barostat period is short too (0.2 ps).
QUICK = dict(cells=[1, 1, 1], temps=[300, 900, 1500, 2500], equil=200, prod=300, every=10, xrd_every=100, li_every=50,
             pdamp=0.2)


def rung_name(t):
    return f"T{int(round(t)):04d}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the short main job: " + str(QUICK))
    ap.add_argument("--cells", type=int, nargs=3, default=[2, 2, 2])
    ap.add_argument("--temps", type=float, nargs="+",
                    default=[300, 500, 700, 800, 850, 900, 950, 1000, 1100, 1300, 1500, 2000, 2500])
    ap.add_argument("--equil", type=int, default=400, help="equilibration steps per rung (dt 1 fs)")
    ap.add_argument("--prod", type=int, default=600, help="production steps per rung")
    ap.add_argument("--every", type=int, default=20, help="sampling interval (steps)")
    ap.add_argument("--xrd-every", type=int, default=200, help="steps between XRD snapshots")
    ap.add_argument("--li-every", type=int, default=200,
                    help="steps between Li position snapshots (the order parameter eta)")
    ap.add_argument("--threshold", type=float, default=0.9, help="coverage threshold for dumping frames")
    ap.add_argument("--pdamp", type=float, default=1.0,
                    help="barostat period (ps); keep the rungs several periods long, or the cell lags behind T")
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--training", type=Path, default=TRAINING, help="deepmd/npy training set of the model")
    ap.add_argument("--out", type=Path, default=None, help="run directory (default: a new one under /tmp)")
    ap.add_argument("--compressed", action="store_true",
                    help="run the model compressed by 'dp --pt compress' (written into the run directory; ~1.5x faster)")
    ap.add_argument("--seed", type=int, default=4928459)
    a = ap.parse_args()
    if a.quick:
        for k, v in QUICK.items():
            setattr(a, k, v)
    if a.prod % a.every or a.prod % a.xrd_every or a.prod % a.li_every:
        sys.exit("--prod must be a multiple of --every, --xrd-every and --li-every")
    out = a.out or Path(f"/tmp/llzo_heating_{'x'.join(map(str, a.cells))}_{os.getpid()}")
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    meta = dict(cells=a.cells, temps=a.temps, equil=a.equil, prod=a.prod, every=a.every, xrd_every=a.xrd_every,
                threshold=a.threshold, model=str(os.path.relpath(a.model.resolve(), ROOT)) + (" (compressed)" if a.compressed else ""),
                timestep_fs=1.0,
                barostat=f"Nose-Hoover NPT, aniso, Tdamp 0.1 ps, Pdamp {a.pdamp:g} ps, 1 bar", rung_seconds={})
    old = out / "meta.json"
    if old.exists():
        prev = json.loads(old.read_text())
        for k in ("cells", "equil", "prod", "every", "barostat"):
            if prev.get(k) != meta[k]:
                sys.exit(f"{out} holds a run with {k} = {prev.get(k)}, not {meta[k]}: use another --out")
        meta["rung_seconds"] = prev.get("rung_seconds", {})
    analyze.write_whole(out / "meta.json", json.dumps(meta, indent=2) + "\n")

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
        subprocess.run([str(CLI), "coverage", "build", "--model", str(a.model), "-o", str(reference), str(a.training)],
                       check=True, capture_output=True)
    data = out / "tllzo.data"
    if not data.exists():
        cell, pos, types = tllzo(*a.cells)
        write_data(data, cell, pos, types)
    natoms = 192 * math.prod(a.cells)
    print(f"{natoms} atoms, T = {' '.join(f'{t:g}' for t in a.temps)} K, {a.equil} + {a.prod} NPT steps per rung, in {out}",
          flush=True)

    start, first = data, 1
    for t in a.temps:
        done = out / rung_name(t)
        if done.exists():  # finished rungs were renamed into place whole
            start, first = done / "restart.bin", 0
            continue
        if first == 0 and not start.exists():
            sys.exit(f"cannot add {t:g} K below finished rungs (no restart file {start}): use a new --out")
        work = out / ("." + rung_name(t) + ".tmp")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        # start the rung at a step that makes production end on a multiple of prod (fix ave/* output)
        step0 = a.prod * math.ceil(a.equil / a.prod) - a.equil
        coverage = (f"coverage {reference} coverage_every {a.every} coverage_threshold {a.threshold} "
                    f"coverage_dir uncertain coverage_max_frames 5 coverage_min_gap {a.prod}")
        # LAMMPS reads its input while it runs: give it a private copy (also a record of the rung)
        shutil.copy(HERE / "in.heating", work / "in.heating")
        cmd = [str(LMP), "-in", "in.heating", "-log", "log.lammps", "-screen", "none",
               "-var", "model", str(model), "-var", "start", str(start), "-var", "first", str(first),
               "-var", "T", f"{t:g}", "-var", "equil", str(a.equil), "-var", "prod", str(a.prod),
               "-var", "every", str(a.every), "-var", "xrd_every", str(a.xrd_every),
               "-var", "li_every", str(a.li_every), "-var", "pdamp", f"{a.pdamp:g}", "-var", "step0", str(step0),
               "-var", "coverage", coverage, "-var", "seed", str(a.seed)]
        t0 = time.time()
        p = subprocess.run(cmd, cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        log = (work / "log.lammps").read_text() if (work / "log.lammps").exists() else p.stdout
        if p.returncode != 0:
            err = [l for l in (log + p.stdout).splitlines() if "ERROR" in l]
            sys.exit(f"LAMMPS failed at {t:g} K (see {work}/log.lammps): {err or p.stderr[-2000:]}")
        os.replace(work / "restart.part", work / "restart.bin")
        shutil.rmtree(done, ignore_errors=True)
        os.replace(work, done)
        meta["rung_seconds"][f"{t:g}"] = round(time.time() - t0, 1)
        analyze.write_whole(out / "meta.json", json.dumps(meta, indent=2) + "\n")
        line = next((l for l in log.splitlines() if l.startswith("RUNG ")), "")
        print(f"  {t:6g} K done in {time.time() - t0:6.0f} s   {line[5:]}", flush=True)
        if first == 0:  # only the newest rung's restart file is needed to resume
            start.unlink(missing_ok=True)
        start, first = done / "restart.bin", 0

    analyze.analyze(out)


if __name__ == "__main__":
    main()
