#!/usr/bin/env python3
"""RDFs from DPMD vs reference-method MD (the paper's Fig. 4, at reduced scale).

Two runs of the 96-atom primitive t-LLZO cell, Langevin NVT (ASE), same protocol
for both potentials:

* ``1200K``: cell expanded to 1200 K (linear 1.7e-5 /K), 1200 K (above the t->c
  transition, the paper's "cubic LLZO at 1200 K" is reached the same way, by heating),
  dt 2 fs, ``--steps-1200`` steps, RDF over frames every 4 steps after the first 20 %.
* ``3000K``: cell expanded to 1600 K, 3000 K (melt, amorphous/liquid), dt 1.5 fs, likewise.

The reference method's part (``--reference``: CHGNet 0.3.0 or SevenNet-0, not DFT) is cached in
``rdf_ref.npz`` (CHGNet) or ``rdf_ref_<method>.npz`` (~1 s per step on one CPU thread); the DP
part uses ``llzo_dp_model.pth``.
Writes ``rdf.png`` and ``rdf_summary.json`` (temp + rename).

    OMP_NUM_THREADS=1 python models/llzo/train/rdf.py [--reference chgnet] [--ref-only]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

for _k in ("OMP_NUM_THREADS", "DP_INTRA_OP_PARALLELISM_THREADS", "DP_INTER_OP_PARALLELISM_THREADS"):
    os.environ.setdefault(_k, "1")

import numpy as np

from llzo_dp_tools import structures as L

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.dirname(HERE)  # models/llzo: the shipped model and its report

PAIRS = [("Li", "O"), ("La", "O"), ("Zr", "O"), ("O", "O"), ("Li", "Li")]
RMAX, NBIN = 6.0, 120


def rdf(frames, symbols):
    """g_ab(r) averaged over frames (ase neighbour list, periodic)."""
    from ase import Atoms
    from ase.neighborlist import neighbor_list

    sym = np.array(symbols)
    edges = np.linspace(0.0, RMAX, NBIN + 1)
    r = 0.5 * (edges[1:] + edges[:-1])
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    out = {f"{a}-{b}": np.zeros(NBIN) for a, b in PAIRS}
    for cell, pos in frames:
        at = Atoms(symbols, positions=pos, cell=cell, pbc=True)
        i, j, d = neighbor_list("ijd", at, RMAX)
        vol = at.get_volume()
        for a, b in PAIRS:
            m = (sym[i] == a) & (sym[j] == b)
            h, _ = np.histogram(d[m], bins=edges)
            na, nb = np.sum(sym == a), np.sum(sym == b)
            out[f"{a}-{b}"] += h / (na * nb / vol * shell)
    for k in out:
        out[k] /= len(frames)
    return r, out


def run_md(calc, s, temp, dt_fs, steps, seed, every=4):
    from ase import Atoms, units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    a = Atoms(s.symbols, positions=s.positions, cell=s.cell, pbc=True)
    a.calc = calc
    MaxwellBoltzmannDistribution(a, temperature_K=temp, rng=np.random.default_rng(seed))
    dyn = Langevin(a, dt_fs * units.fs, temperature_K=temp, friction=0.02, rng=np.random.default_rng(seed + 1))
    frames = []
    t0 = time.time()
    skip = steps // 5
    for k in range(1, steps + 1):
        dyn.run(1)
        if k > skip and k % every == 0:
            frames.append((np.array(a.cell), a.get_positions()))
    return frames, (time.time() - t0) / steps


def runs(args):
    from build_dataset import thermal_cell

    prim = L.primitive_tllzo("dft")
    return {
        "1200K": dict(s=thermal_cell(prim, 1200), temp=1200.0, dt=2.0, steps=args.steps_1200, seed=12),
        "3000K": dict(s=thermal_cell(prim, 1600), temp=3000.0, dt=1.5, steps=args.steps_3000, seed=30),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(MODEL_DIR, "llzo_dp_model.pth"))
    ap.add_argument("--steps-1200", type=int, default=200)
    ap.add_argument("--steps-3000", type=int, default=300)
    ap.add_argument("--reference", default="sevennet",
                    help="the model's reference method: sevennet (the shipped model's) or chgnet")
    ap.add_argument("--ref-only", action="store_true")
    ap.add_argument("--out", default=MODEL_DIR)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    R = runs(args)
    ref_path = os.path.join(HERE, "rdf_ref.npz" if args.reference == "chgnet" else f"rdf_ref_{args.reference}.npz")
    summary = {"reference": args.reference, "pairs": [f"{a}-{b}" for a, b in PAIRS], "runs": {}}
    if os.path.exists(ref_path):
        z = np.load(ref_path)
        ref = {k: {p: z[f"{k}/{p}"] for p in summary["pairs"]} for k in R}
        r = z["r"]
        ref_cost = json.loads(str(z["meta"]))
    else:
        from llzo_dp_tools.reference import Reference

        refm = Reference(args.reference)
        ref, ref_cost = {}, {}
        for k, c in R.items():
            fr, cost = run_md(refm.calc, c["s"], c["temp"], c["dt"], c["steps"], c["seed"])
            r, ref[k] = rdf(fr, c["s"].symbols)
            ref_cost[k] = {"s_per_step": cost, "frames": len(fr), "steps": c["steps"]}
            print(k, "reference MD", ref_cost[k], flush=True)
        arrs = {f"{k}/{p}": v for k in ref for p, v in ref[k].items()}
        tmp = ref_path + ".tmp.npz"
        np.savez(tmp, r=r, meta=json.dumps(ref_cost), **arrs)
        os.replace(tmp, ref_path)
    if args.ref_only:
        return 0

    from deepmd.calculator import DP

    calc = DP(model=args.model)
    dp = {}
    for k, c in R.items():
        fr, cost = run_md(calc, c["s"], c["temp"], c["dt"], c["steps"], c["seed"])
        r, dp[k] = rdf(fr, c["s"].symbols)
        dr = r[1] - r[0]
        summary["runs"][k] = {
            "reference_s_per_step": ref_cost[k]["s_per_step"], "dp_s_per_step": cost, "steps": c["steps"],
            "frames": len(fr),
            # integral of |g_dp - g_ref| dr over 0..6 A, and first-peak positions
            "L1_diff": {p: float(np.sum(np.abs(dp[k][p] - ref[k][p])) * dr) for p in summary["pairs"]},
            "first_peak_ref": {p: float(r[np.argmax(ref[k][p])]) for p in summary["pairs"]},
            "first_peak_dp": {p: float(r[np.argmax(dp[k][p])]) for p in summary["pairs"]},
        }
        print(k, json.dumps(summary["runs"][k]), flush=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, k in zip(axes, R):
        for n, p in enumerate(summary["pairs"]):
            off = 2.0 * n
            ax.plot(r, ref[k][p] + off, "k-", lw=1.2, label="reference method MD" if n == 0 else None)
            ax.plot(r, dp[k][p] + off, "r--", lw=1.2, label="DPMD" if n == 0 else None)
            ax.text(5.2, off + 1.1, p, fontsize=8)
        ax.set_title(f"96-atom LLZO, {k} (offset by 2 per pair)", fontsize=9)
        ax.set_xlabel("r (Å)")
        ax.set_ylabel("g(r) + offset")
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    L.save_figure(fig, os.path.join(args.out, "rdf.png"))
    L._atomic_write_text(os.path.join(args.out, "rdf_summary.json"), json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
