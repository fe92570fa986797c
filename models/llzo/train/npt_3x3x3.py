#!/usr/bin/env python3
"""Acceptance run of the shipped model: the paper's 3x3x3 t-LLZO supercell (5,184 atoms),
100 NPT steps at 300 K (Nose-Hoover, aniso, dt 1 fs) in pair_style llzo_dp. Writes
npt_3x3x3.md (cell before/after, c/a, time per step) next to the model.

    python models/llzo/train/npt_3x3x3.py [--steps 100] [--threads 1]
"""

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from llzo_dp_tools.lammps import LMP, tllzo, write_data

MODEL_DIR = Path(__file__).resolve().parents[1]  # models/llzo

SCRIPT = """
units metal
atom_style atomic
read_data system.data
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
velocity all create 300 5184 mom yes rot yes dist gaussian
fix npt all npt temp 300 300 0.1 aniso 1.0 1.0 0.5
timestep 0.001
thermo_style custom step temp pe press lx ly lz
thermo_modify format float %.6f
thermo 10
run {steps}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    import subprocess
    work = Path(tempfile.mkdtemp(prefix="llzo_3x3x3_"))
    write_data(work / "system.data", *tllzo(3, 3, 3))
    (work / "in.lammps").write_text(SCRIPT.format(model=MODEL_DIR / "llzo_dp_model.pth", steps=a.steps))
    t0 = time.time()
    p = subprocess.run([str(LMP), "-in", "in.lammps", "-log", "log.lammps"], cwd=work, capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS=str(a.threads)))
    wall = time.time() - t0
    log = (work / "log.lammps").read_text()
    if p.returncode:
        sys.exit(f"LAMMPS failed ({work}): {[l for l in log.splitlines() if 'ERROR' in l] or p.stderr[-2000:]}")
    rows = [l.split() for l in log.splitlines() if re.match(r"^\s+\d+\s+[-0-9.]+\s", l)]
    first, last = rows[0], rows[-1]
    a0, b0, c0 = (float(x) / 3 for x in first[4:7])
    a1, b1, c1 = (float(x) / 3 for x in last[4:7])
    loop = float(re.search(r"Loop time of ([0-9.]+)", log).group(1))
    timing = re.search(r"llzo_dp timing.*", log)
    tetragonal = c1 / (0.5 * (a1 + b1)) < 0.98
    lines = ["# Shipped model on the 3×3×3 t-LLZO supercell (5,184 atoms)", "",
             f"`pair_style llzo_dp` with `models/llzo/llzo_dp_model.pth`, {a.steps} NPT steps at 300 K "
             f"(Nose–Hoover, aniso, Pdamp 0.5 ps, dt 1 fs), {a.threads} thread(s), written by `npt_3x3x3.py`.", "",
             "| | a (Å) | b (Å) | c (Å) | c/a | T (K) |", "|---|---|---|---|---|---|",
             f"| step 0 (experimental cell) | {a0:.4f} | {b0:.4f} | {c0:.4f} | {c0 / (0.5 * (a0 + b0)):.4f} | {float(first[1]):.0f} |",
             f"| step {last[0]} | {a1:.4f} | {b1:.4f} | {c1:.4f} | {c1 / (0.5 * (a1 + b1)):.4f} | {float(last[1]):.0f} |", "",
             f"- no error; cell {'stays tetragonal (c/a < 0.98)' if tetragonal else 'NOT tetragonal'}",
             f"- loop time {loop:.0f} s = {loop / a.steps:.2f} s/step = {1e6 * loop / a.steps / 5184:.0f} µs/atom-step "
             f"(wall {wall:.0f} s with start-up; another job shared the 2-core machine)",
             f"- {timing.group(0) if timing else ''}", ""]
    tmp = MODEL_DIR / ".npt_3x3x3.md.tmp"
    tmp.write_text("\n".join(lines))
    os.replace(tmp, MODEL_DIR / "npt_3x3x3.md")
    print("\n".join(lines))
    if not tetragonal:
        sys.exit(1)


if __name__ == "__main__":
    main()
