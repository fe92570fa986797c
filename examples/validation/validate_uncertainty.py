#!/usr/bin/env python3
"""Does the in-run coverage flag the frames the shipped model gets wrong? (The paper's Fig. 3c
as a tool.) DPMD of t-LLZO (192 atoms) with pair_style llzo_dp at 300, 900, 1500 and
2500 K and a melt; on sampled frames: the coverage monitor's frame coverage, the 4-model force
deviation (the shipped model + the three of train_ensemble.py, written by the same run as
model_devi.out), and the force RMSE of the shipped model against the reference method
(CHGNet 0.3.0; needs `pip install chgnet==0.4.2`).

    python examples/validation/validate_uncertainty.py [--steps 600] [--every 50]

Writes into examples/validation/results/: frames.csv, report.md, coverage_vs_force_rmse.png,
roc.png. Reports the Spearman correlation of coverage and force RMSE and the ROC AUC of
"1 - coverage" and of the max force deviation as detectors of frames whose force RMSE exceeds
twice the test-set force RMSE, with the cost of each measure per evaluation.
"""

import argparse
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
from llzo_dp_tools.lammps import LMP, read_dump, tllzo, write_data

MODEL = ROOT / "models" / "llzo" / "llzo_dp_model.pth"
TRAINING = ROOT / "models" / "llzo" / "train" / "data-sevennet" / "training"  # the shipped model's
CLI = ROOT / "target" / "release" / "llzo-dp"
ELEMENTS = ["Li", "La", "Zr", "O"]
RUNS = [("300K", 300, 300), ("900K", 900, 900), ("1500K", 1500, 1500), ("2500K", 2500, 2500), ("melt", 3500, 3500)]

SCRIPT = """
units metal
atom_style atomic
read_data {data}
pair_style llzo_dp {models} out_file model_devi.out out_freq {every} coverage {ref} coverage_every {every} coverage_threshold 0 coverage_dir cov
pair_coeff * * Li La Zr O
neighbor 1.0 bin
velocity all create {t0} {seed} mom yes rot yes dist gaussian
fix npt all npt temp {t0} {t1} 0.1 aniso 1.0 1.0 0.5
timestep 0.001
thermo_style custom step temp pe press vol
thermo 50
dump d all custom {every} frames.dump id type x y z fx fy fz
dump_modify d sort id format float %.10g
run {steps}
"""


def spearman(x, y):
    rx, ry = (np.argsort(np.argsort(v)).astype(float) for v in (x, y))
    return float(np.corrcoef(rx, ry)[0, 1])


def roc(score, positive):
    """ROC curve and AUC (probability that a positive scores above a negative, ties 1/2)."""
    score, positive = np.asarray(score, float), np.asarray(positive, bool)
    pos, neg = score[positive], score[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan"), None
    auc = (np.sum(pos[:, None] > neg[None, :]) + 0.5 * np.sum(pos[:, None] == neg[None, :])) / (len(pos) * len(neg))
    thr = np.unique(score)[::-1]
    tpr = [np.mean(pos >= t) for t in thr]
    fpr = [np.mean(neg >= t) for t in thr]
    return float(auc), (np.r_[0, fpr], np.r_[0, tpr])


def timing(log):
    m = re.findall(r"llzo_dp timing.*", log)
    if not m:
        return {}
    line = m[-1]
    out = {"steps": int(re.search(r"(\d+) steps", line).group(1))}
    for key in ("model", "coverage", "deviation models"):
        g = re.search(rf"{key} ([0-9.]+)", line)
        if g:
            out[key] = float(g.group(1))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--skip", type=int, default=100, help="steps before the first sampled frame")
    a = ap.parse_args()
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    members = sorted((HERE / "ensemble").glob("seed*/model.pth"))
    if len(members) < 3:
        sys.exit("run examples/validation/train_ensemble.py first (3 more models)")
    models = [MODEL] + members[:3]
    ref = out / "coverage_reference.json"
    if not ref.exists():
        subprocess.run([str(CLI), "coverage", "build", "--model", str(MODEL), "-o", str(ref), str(TRAINING)], check=True,
                       capture_output=True)
    data = out / "tllzo_1x1x1.data"
    write_data(data, *tllzo())

    rows, costs = [], {}
    for name, t0, t1 in RUNS:
        work = out / "runs" / name
        if not (work / "done").exists():
            # an unfinished run starts over: its coverage.csv and model_devi.out would refuse a new run
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True, exist_ok=True)
            (work / "in.lammps").write_text(SCRIPT.format(data=data, models=" ".join(map(str, models)), every=a.every,
                                                         ref=ref, t0=t0, t1=t1, seed=1000 + t0, steps=a.steps))
            t = time.time()
            p = subprocess.run([str(LMP), "-in", "in.lammps", "-log", "log.lammps"], cwd=work, capture_output=True,
                               text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
            if p.returncode:
                sys.exit(f"LAMMPS failed in {work}: {p.stdout[-2000:]}")
            (work / "done").write_text(f"{time.time() - t:.1f} s\n")
            print(f"{name}: {a.steps} steps in {time.time() - t:.0f} s", flush=True)
        costs[name] = timing((work / "log.lammps").read_text())
        cov = {int(r["step"]): float(r["overall"]) for r in csv.DictReader(open(work / "cov" / "coverage.csv"))}
        devi = {int(l.split()[0]): float(l.split()[4]) for l in (work / "model_devi.out").read_text().splitlines()
                if l.strip() and not l.startswith("#")}
        for fr in read_dump(work / "frames.dump"):
            step = int(fr["step"])
            if step < a.skip:
                continue
            rows.append(dict(run=name, T=t0, step=step, coverage=cov[step], max_devi_f=devi[step], frame=fr))

    # reference-method forces on every sampled frame
    label_cache = out / "reference_forces.npz"
    cached = dict(np.load(label_cache)) if label_cache.exists() else {}
    todo = [r for r in rows if f"{r['run']}_{r['step']}" not in cached]
    t_label = None
    if todo:
        from llzo_dp_tools import structures as L
        from llzo_dp_tools.reference import Reference
        refm = Reference()
        for r in todo:
            f = r["frame"]
            pos = np.stack([f["x"], f["y"], f["z"]], 1)
            s = L.Structure(np.asarray(f["box"]), pos, [ELEMENTS[int(t) - 1] for t in f["type"]], {})
            cached[f"{r['run']}_{r['step']}"] = refm.label(s)[1]
        t_label = refm.t_calls / max(refm.n_calls, 1)
        tmp = out / ".reference_forces.tmp.npz"
        np.savez(tmp, **cached)
        os.replace(tmp, label_cache)
    for r in rows:
        f = r["frame"]
        fdp = np.stack([f["fx"], f["fy"], f["fz"]], 1)
        r["force_rmse"] = float(np.sqrt(np.mean((fdp - cached[f"{r['run']}_{r['step']}"]) ** 2)))

    test_rmse = json.loads((ROOT / "models/llzo/eval_summary.json").read_text())["sets"]["test"]
    fam = test_rmse["families"]
    n = sum(v["frames"] for k, v in fam.items() if ":" not in k)
    test_f = math.sqrt(sum(v["frames"] * (v["rmse_f_meV_A"] / 1e3) ** 2 for k, v in fam.items() if ":" not in k) / n)
    bad = np.array([r["force_rmse"] > 2 * test_f for r in rows])
    cov = np.array([r["coverage"] for r in rows])
    dev = np.array([r["max_devi_f"] for r in rows])
    frm = np.array([r["force_rmse"] for r in rows])
    rho = spearman(cov, frm)
    auc_c, curve_c = roc(1 - cov, bad)
    auc_d, curve_d = roc(dev, bad)

    with open(out / ".frames.csv.tmp", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run", "T_K", "step", "coverage", "max_devi_f_eV_A", "force_rmse_eV_A", "above_2x_test_rmse"])
        for r, b in zip(rows, bad):
            w.writerow([r["run"], r["T"], r["step"], f"{r['coverage']:.5f}", f"{r['max_devi_f']:.5f}",
                        f"{r['force_rmse']:.5f}", int(b)])
    os.replace(out / ".frames.csv.tmp", out / "frames.csv")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, *_ in RUNS:
        sel = [i for i, r in enumerate(rows) if r["run"] == name]
        ax[0].scatter(cov[sel] * 100, frm[sel] * 1e3, s=14, label=name)
        ax[1].scatter(dev[sel], frm[sel] * 1e3, s=14, label=name)
    for a_ in ax:
        a_.axhline(2e3 * test_f, color="gray", ls="--", lw=0.8)
        a_.set_ylabel("force RMSE vs reference method (meV/Å)")
    ax[0].set_xlabel("frame coverage by the training set (%)")
    ax[1].set_xlabel("max force deviation of 4 models (eV/Å)")
    ax[0].set_title(f"coverage: Spearman ρ = {rho:.2f}", fontsize=9)
    ax[1].set_title(f"4-model deviation: Spearman ρ = {spearman(dev, frm):.2f}", fontsize=9)
    ax[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / ".cov.tmp.png", dpi=110)
    os.replace(out / ".cov.tmp.png", out / "coverage_vs_force_rmse.png")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for (auc, curve), lab in (((auc_c, curve_c), "1 − coverage"), ((auc_d, curve_d), "max force deviation")):
        if curve is not None:
            ax.plot(*curve, label=f"{lab} (AUC {auc:.2f})")
    ax.plot([0, 1], [0, 1], color="gray", lw=0.6)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / ".roc.tmp.png", dpi=110)
    os.replace(out / ".roc.tmp.png", out / "roc.png")
    plt.close(fig)

    c_cov = np.mean([c["coverage"] for c in costs.values() if "coverage" in c])
    c_dev = np.mean([c["deviation models"] for c in costs.values() if "deviation models" in c])
    c_mod = np.mean([c["model"] for c in costs.values() if "model" in c])
    per_eval = a.steps / a.every
    lines = ["# Coverage against error: the in-run monitor on the shipped model", "",
             f"DPMD with `pair_style llzo_dp` (192-atom t-LLZO, NPT aniso, dt 1 fs, {a.steps} steps per run, frames every "
             f"{a.every} steps after {a.skip}); runs: " + ", ".join(f"{n} ({t0} K)" for n, t0, _ in RUNS) + ".",
             f"Force RMSE of the shipped model against the reference method (CHGNet 0.3.0, not DFT) on each frame; "
             f"\"bad\" = force RMSE above 2 × the test-set force RMSE ({2e3 * test_f:.0f} meV/Å; test set "
             f"{1e3 * test_f:.0f} meV/Å over all families).", "",
             "4-model deviation: the shipped model plus three models with other seeds and a short schedule "
             "(`train_ensemble.py`, 3000 steps each: weaker than the shipped model, which inflates deviations but not "
             "their ranking), from the same run's `model_devi.out` (max force deviation).", "",
             "| run | frames | coverage mean (min) | max force deviation mean (eV/Å) | force RMSE mean (meV/Å) | bad frames "
             "| Spearman with force RMSE inside the run: coverage / deviation |",
             "|---|---|---|---|---|---|---|"]
    for name, *_ in RUNS:
        sel = [i for i, r in enumerate(rows) if r["run"] == name]
        lines.append(f"| {name} | {len(sel)} | {100 * cov[sel].mean():.2f} % ({100 * cov[sel].min():.2f} %) | "
                     f"{dev[sel].mean():.3f} | {1e3 * frm[sel].mean():.0f} | {int(bad[sel].sum())} | "
                     f"{spearman(cov[sel], frm[sel]) if cov[sel].std() > 0 else float('nan'):.2f} / "
                     f"{spearman(dev[sel], frm[sel]):.2f} |")
    lines += ["", f"- Spearman correlation of frame coverage and force RMSE: **{rho:.2f}** "
                  f"(4-model deviation and force RMSE: {spearman(dev, frm):.2f}). Both also follow temperature; inside "
                  "one run (table, nan = coverage constant at 100 %) the coverage still ranks the frames.",
              f"- ROC AUC for the bad frames ({int(bad.sum())} of {len(rows)}): coverage **{auc_c:.2f}**, "
              f"4-model deviation **{auc_d:.2f}**",
              f"- Cost per evaluation (from the `llzo_dp timing` log lines, 192 atoms, 1 thread): coverage monitor "
              f"{c_cov * a.every:.1f} ms, 3 extra models {c_dev * a.every:.1f} ms, the driving model itself "
              f"{c_mod:.1f} ms per step. The coverage needs one model; the deviation needs four trained models.",
              f"- Reference-method labels: {t_label:.2f} s per frame" if t_label else "- Reference-method labels: cached",
              "", "![coverage vs force RMSE](coverage_vs_force_rmse.png)", "", "![ROC](roc.png)", ""]
    tmp = out / ".report.md.tmp"
    tmp.write_text("\n".join(lines))
    os.replace(tmp, out / "report.md")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
