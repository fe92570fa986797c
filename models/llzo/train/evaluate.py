#!/usr/bin/env python3
"""Evaluate the frozen LLZO model against the reference method, per family.

Reads <data>/{test,validation,training}/<system> (deepmd/npy; default data-sevennet/, the
shipped model's labels) and <data>/done/<system>.json (family of each system), runs the
frozen model (``llzo_dp_model.pth``, DeePMD-kit PyTorch backend, CPU, one
thread) and writes

* ``report.md``            -- RMSE tables (energy meV/atom, force meV/A) per family and per system
* ``parity_energy.png``    -- energy per atom, model vs the reference method (test set)
* ``parity_force.png``     -- force components, model vs the reference method (test set)
* ``eval_summary.json``    -- the numbers

All files are written to a temporary name and renamed into place.

    OMP_NUM_THREADS=1 python models/llzo/train/evaluate.py [--model ../llzo_dp_model.pth]
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

FAMILIES = ["crystal", "hot", "amorphous", "slab", "close-contact"]
FAMILY_LABEL = {
    "crystal": "crystal (t/c-LLZO + compounds, strained; all cells)",
    "hot": "high-temperature MD (400-1600 K)",
    "amorphous": "amorphous (melt 3000 K, quench to 300 K)",
    "slab": "slab ((001) surface, static + 800 K MD)",
    "close-contact": "close contacts",
}
SUB_LLZO = "crystal: t/c-LLZO only"
SUB_SMALL = "crystal: simple compounds, 12-22-atom cells"
SUB_BIG = "crystal: simple compounds, 88-128-atom supercells"


def crystal_subgroup(system: str) -> str | None:
    """The crystal family's sub-group of a system: every t- and c-LLZO cell (the strained 0 K cells
    crys_tllzo_shape too), the compounds' supercells, or their small cells; None if not a crystal."""
    if system.startswith(("crys_tllzo", "crys_cllzo")):
        return SUB_LLZO
    if system.startswith("crys_big_"):
        return SUB_BIG
    return SUB_SMALL if system.startswith("crys_") else None


TARGET_E, TARGET_F = 4.0, 150.0  # meV/atom, meV/A: the accuracy goal for the crystal and high-temperature families


def predict(dp, sysdir):
    d = L.read_deepmd_npy(sysdir)
    nf = len(d["energy"])
    natoms = len(d["types"])
    E, F = [], []
    for i in range(nf):
        e, f, _v = dp.eval(d["coord"][i:i + 1], d["box"][i:i + 1], d["types"])
        E.append(float(np.ravel(e)[0]))
        F.append(np.asarray(f).reshape(natoms, 3))
    return {
        "natoms": natoms,
        "e_ref": d["energy"] / natoms,
        "e_dp": np.array(E) / natoms,
        "f_ref": d["force"].reshape(nf, natoms, 3),
        "f_dp": np.array(F),
    }


def rmse(x):
    x = np.asarray(x)
    return float(np.sqrt(np.mean(x ** 2))) if x.size else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(MODEL_DIR, "llzo_dp_model.pth"))
    ap.add_argument("--data", default=os.path.join(HERE, "data-sevennet"), help="the labelled frames (default: "
                    "the shipped model's, SevenNet-0 labels; data/ has the same frames with CHGNet's)")
    ap.add_argument("--sets", nargs="*", default=["test", "validation", "training"])
    ap.add_argument("--out", default=MODEL_DIR)
    ap.add_argument("--note", default="", help="extra text for report.md (training state)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from deepmd.infer import DeepPot

    t0 = time.time()
    dp = DeepPot(args.model)
    fam_of = {}
    # the labels' method as build_dataset.py / relabel.py recorded it
    labels = json.load(open(os.path.join(args.data, "summary.json"))).get("labels", "the reference method")
    ddir = os.path.join(args.data, "done")
    for f in os.listdir(ddir):
        if f.endswith(".json"):
            r = json.load(open(os.path.join(ddir, f)))
            fam_of[r["name"]] = r["family"]

    results = {}  # set -> system -> arrays
    for part in args.sets:
        pdir = os.path.join(args.data, part)
        if not os.path.isdir(pdir):
            continue
        results[part] = {}
        for name in sorted(os.listdir(pdir)):
            if name.startswith(".") or name not in fam_of:
                continue
            results[part][name] = predict(dp, os.path.join(pdir, name))

    def table(part):
        rows_fam, rows_sys = {}, {}
        for fam in FAMILIES:
            de, df, nfr = [], [], 0
            for name, r in results[part].items():
                if fam_of[name] != fam:
                    continue
                e_err = (r["e_dp"] - r["e_ref"]) * 1000.0
                f_err = (r["f_dp"] - r["f_ref"]).ravel() * 1000.0
                rows_sys[name] = {"family": fam, "frames": len(e_err), "natoms": r["natoms"],
                                  "rmse_e_meV_atom": rmse(e_err), "rmse_f_meV_A": rmse(f_err),
                                  "mae_e_meV_atom": float(np.mean(np.abs(e_err)))}
                de.append(e_err)
                df.append(f_err)
                nfr += len(e_err)
            if nfr:
                rows_fam[fam] = {"frames": nfr, "rmse_e_meV_atom": rmse(np.concatenate(de)),
                                 "rmse_f_meV_A": rmse(np.concatenate(df))}
        # sub-groups of the crystal family: LLZO cells vs the simple compounds
        for label in (SUB_LLZO, SUB_SMALL, SUB_BIG):
            de = [(r["e_dp"] - r["e_ref"]) * 1000.0 for n, r in results[part].items() if crystal_subgroup(n) == label]
            df = [(r["f_dp"] - r["f_ref"]).ravel() * 1000.0 for n, r in results[part].items()
                  if crystal_subgroup(n) == label]
            if de:
                rows_fam[label] = {"frames": int(sum(len(x) for x in de)), "rmse_e_meV_atom": rmse(np.concatenate(de)),
                                   "rmse_f_meV_A": rmse(np.concatenate(df))}
        return rows_fam, rows_sys

    summary = {"model": os.path.basename(args.model), "sets": {}}
    for part in results:
        fam, sys_ = table(part)
        summary["sets"][part] = {"families": fam, "systems": sys_}

    # parity plots (test set)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = dict(zip(FAMILIES, ["tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange"]))
    test = results.get("test", {})
    for kind in ("energy", "force"):
        fig, axes = plt.subplots(1, len(FAMILIES), figsize=(4.0 * len(FAMILIES), 4.0))
        for ax, fam in zip(axes, FAMILIES):
            xs, ys = [], []
            for name, r in test.items():
                if fam_of[name] != fam:
                    continue
                if kind == "energy":
                    xs.append(r["e_ref"]); ys.append(r["e_dp"])
                else:
                    xs.append(r["f_ref"].ravel()); ys.append(r["f_dp"].ravel())
            if not xs:
                ax.set_title(f"{fam}: no data"); continue
            x, y = np.concatenate(xs), np.concatenate(ys)
            ax.scatter(x, y, s=6 if kind == "energy" else 1, alpha=0.7 if kind == "energy" else 0.3, c=colors[fam])
            lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
            st = summary["sets"]["test"]["families"][fam]
            val = st["rmse_e_meV_atom"] if kind == "energy" else st["rmse_f_meV_A"]
            unit = "meV/atom" if kind == "energy" else "meV/Å"
            ax.set_title(f"{fam} (test, {st['frames']} frames)\nRMSE {val:.1f} {unit}", fontsize=9)
            ax.set_xlabel("reference method " + ("E (eV/atom)" if kind == "energy" else "F (eV/Å)"))
            ax.set_ylabel("DP model " + ("E (eV/atom)" if kind == "energy" else "F (eV/Å)"))
        fig.suptitle(f"LLZO DP model vs the reference method ({labels}): {kind}", fontsize=10)
        fig.tight_layout()
        L.save_figure(fig, os.path.join(args.out, f"parity_{kind}.png"))
        plt.close(fig)

    # report
    lines = ["# LLZO deep potential: accuracy against the reference method", "",
             f"Reference method: {labels} (universal ML potential), **not DFT**. "
             f"Model: `{summary['model']}`. Generated by `evaluate.py` in {time.time() - t0:.0f} s.", ""]
    if args.note:
        lines += [args.note, ""]
    for part in results:
        fam = summary["sets"][part]["families"]
        lines += [f"## {part} set, per family", "",
                  "| family | frames | energy RMSE (meV/atom) | force RMSE (meV/Å) | meets E ≤ 4, F ≤ 150 |",
                  "|---|---|---|---|---|"]
        for f in FAMILIES + [SUB_LLZO, SUB_SMALL, SUB_BIG]:
            if f in fam:
                r = fam[f]
                tgt = ""
                if f in ("crystal", "hot", SUB_LLZO):
                    tgt = "yes" if (r["rmse_e_meV_atom"] <= TARGET_E and r["rmse_f_meV_A"] <= TARGET_F) else "no"
                lines.append(f"| {FAMILY_LABEL.get(f, f)} | {r['frames']} | {r['rmse_e_meV_atom']:.2f} | {r['rmse_f_meV_A']:.0f} | {tgt or 'n/a'} |")
        lines.append("")
    if "test" in results:
        lines += ["## test set, per system", "", "| system | family | atoms | frames | energy RMSE (meV/atom) | force RMSE (meV/Å) |", "|---|---|---|---|---|---|"]
        for name, r in sorted(summary["sets"]["test"]["systems"].items(), key=lambda kv: (FAMILIES.index(kv[1]["family"]), kv[0])):
            lines.append(f"| {name} | {r['family']} | {r['natoms']} | {r['frames']} | {r['rmse_e_meV_atom']:.2f} | {r['rmse_f_meV_A']:.0f} |")
        lines += ["", "![energy parity](parity_energy.png)", "", "![force parity](parity_force.png)", ""]
    L._atomic_write_text(os.path.join(args.out, "report.md"), "\n".join(lines) + "\n")
    L._atomic_write_text(os.path.join(args.out, "eval_summary.json"), json.dumps(summary, indent=2) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
