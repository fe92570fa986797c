"""Overhead of the coverage monitor: pair_style llzo_dp with the monitor off, every 10
steps and every step, in ONE LAMMPS run (interleaved blocks after warm-up), on a t-LLZO
supercell. Prints µs per atom-step and the overhead against "off", and the monitor's time
as a share of the rest of the same steps by the pair style's own clock (its timing line);
writes
bench/results/coverage_overhead_<cells>.csv (the test model) or
coverage_overhead_<cells>_<model file stem>.csv (another --model).

    python bench/bench_coverage.py [--cells 2 2 2] [--steps 10] [--repeats 2] [--threads 1]
    python bench/bench_coverage.py --model models/llzo/llzo_dp_model.pth \
        --training models/llzo/train/data-sevennet/training
"""

import argparse
import csv
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from llzo_dp_tools.lammps import lammps, tllzo, write_data

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = ROOT / "target" / "release" / "libllzo_dp.so"
DEFAULT_MODEL = ROOT / "tests" / "data" / "test_model" / "test_model.pth"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, nargs=3, default=[2, 2, 2])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--training", default=str(ROOT / "tests/data/test_model/data/training"))
    ap.add_argument("--plugin", type=Path, default=PLUGIN, help="the llzo_dp build to time")
    a = ap.parse_args()
    a.model, a.training = str(Path(a.model).resolve()), str(Path(a.training).resolve())
    work = Path(tempfile.mkdtemp(prefix="llzo_covbench_"))
    subprocess.run([str(ROOT / "target/release/llzo-dp"), "coverage", "build", "--model", a.model,
                    "-o", str(work / "ref.json"), a.training], check=True, capture_output=True)
    cell, pos, types = tllzo(*a.cells)
    write_data(work / "system.data", cell, pos, types)
    n = len(pos)
    cov = f"coverage {work / 'ref.json'} coverage_threshold 0 coverage_dir frames"
    variants = {"off": "", "every10": f"{cov} coverage_every 10", "every1": f"{cov} coverage_every 1"}
    lines = ["units metal", "atom_style atomic", "read_data system.data",
             "velocity all create 600 4242 mom yes rot no", "fix nve all nve", "timestep 0.001", "thermo 1000"]
    order = []
    for name, extra in variants.items():
        lines += [f"pair_style llzo_dp {a.model} {extra}", "pair_coeff * * Li La Zr O", "run 3"]
    for r in range(a.repeats):
        for name in (list(variants) if r % 2 == 0 else list(reversed(variants))):
            lines += [f"pair_style llzo_dp {a.model} {variants[name]}", "pair_coeff * * Li La Zr O", f"run {a.steps}"]
            order.append(name)
    run = lammps(work, "\n".join(lines) + "\n", plugin=a.plugin.resolve(), env={"OMP_NUM_THREADS": str(a.threads)}, timeout=3600)
    if run.returncode != 0:
        sys.exit(run.output[-3000:])
    loops = [float(m) for m in re.findall(r"Loop time of ([0-9.eE+-]+) on", run.log)][len(variants):]
    # the pair style's own clock, per run: the monitor's share of the very steps it ran on,
    # which a busy machine's noise between blocks does not touch
    timings = []
    for line in (l for l in run.log.splitlines() if l.startswith("llzo_dp timing")):
        cov = re.search(r"\| coverage ([0-9.]+)", line)
        timings.append((float(re.search(r": ([0-9.]+) ms/step", line)[1]), float(cov[1]) if cov else 0.0))
    timings = timings[len(variants):]
    if len(timings) != len(loops):
        sys.exit(f"{len(timings)} llzo_dp timing lines for {len(loops)} runs")
    per = {k: [] for k in variants}
    share = {k: [] for k in variants}
    for name, t, (step_ms, cov_ms) in zip(order, loops, timings):
        per[name].append(t / (a.steps * n) * 1e6)
        share[name].append(100 * cov_ms / (step_ms - cov_ms))
    med = {k: statistics.median(v) for k, v in per.items()}
    own = {k: statistics.median(v) for k, v in share.items()}
    print(f"t-LLZO {'x'.join(map(str, a.cells))} ({n} atoms), {a.threads} thread(s), model {Path(a.model).name}")
    print(f"{'monitor':<8} {'us/atom-step':>13} {'overhead':>9} {'monitor/step (own clock)':>25}")
    for k in variants:
        print(f"{k:<8} {med[k]:>13.2f} {100 * (med[k] / med['off'] - 1):>8.1f}% {own[k]:>24.1f}%")
    tag = "" if Path(a.model) == DEFAULT_MODEL else f"_{Path(a.model).stem}"
    out = ROOT / "bench" / "results" / f"coverage_overhead_{'x'.join(map(str, a.cells))}{tag}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["monitor", "atoms", "threads", "us_per_atom_step_median", "overhead_percent", "monitor_percent_of_step_own_clock"])
        for k in variants:
            w.writerow([k, n, a.threads, f"{med[k]:.3f}", f"{100 * (med[k] / med['off'] - 1):.2f}", f"{own[k]:.2f}"])
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
