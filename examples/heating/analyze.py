#!/usr/bin/env python3
"""Analysis of an NPT heating ladder written by run.py (one directory T<temp>/ per rung).

    python examples/heating/analyze.py RUN_DIR [--publish RESULTS_DIR]

Writes into RUN_DIR: lattice_vs_T.csv, summary.json, summary.md, lattice.png, xrd.png, rdf.png,
coverage.png; prints the lattice table. --publish also copies the run's summary (summary.md,
lattice_vs_T.csv, summary.json, lattice.png; not its rungs) into RESULTS_DIR, e.g.
examples/heating/results/<name>: how the committed summaries there are made.

Definitions (also written into summary.md):
- a, b, c: box lengths per conventional cell (lx/nx, ly/ny, lz/nz); mean over production with a
  block-average error (NBLOCKS blocks, standard error of the block means).
- c/a: the shortest mean axis over the mean of the other two (the tetragonal c axis can switch
  direction in a small cell); error from the same blocks.
- anisotropy d: |difference of the two longer axes| / their mean. They are equal by symmetry in
  both phases, so d measures how far the cell's slow barostat oscillation leaves the axes apart.
- melted: the La mean-squared displacement over production exceeds MSD_MELT_FACTOR times the
  crystal's MSD/T (median over the rungs at or below 900 K) times T: above that the La/Zr
  framework diffuses instead of vibrating.
- cubic: not melted and the short axis's deficit 1 - c/a is within 2 d + CUBIC_TOL: one axis is
  not shorter than the oscillation already makes the two equal ones differ.
- eta: Li-sublattice order parameter occ(8a) - occ(16e) over the 24d tetrahedra, unique axis
  chosen to maximise it (llzo_dp_tools.li_order): 1 for ordered t-LLZO, about 0 when the
  tetrahedral Li is disordered. Mean over the Li snapshots of production (li.dump), error from
  NBLOCKS blocks; "halves" gives the means of the first and second half of production, a check
  that the rung is stationary.
- Tc: midpoint between the last tetragonal rung and the first cubic rung above it; uncertainty
  half that interval (the ladder's resolution).
- thermal expansion: least-squares line of V and of the mean lattice constant over the cubic,
  unmelted rungs; alpha = slope / value at the middle of the fit range.
"""

import csv
import json
import math
import os
import re
import sys
from pathlib import Path

import numpy as np

from llzo_dp_tools.lammps import read_dump
from llzo_dp_tools.li_order import li_order

NBLOCKS = 5
MSD_MELT_FACTOR = 2.0
CUBIC_TOL = 0.003
RDF_PAIRS = ["Li-O", "La-O", "Zr-O", "O-O", "La-La"]
# Literature values for the comparison table
EXPERIMENT = [(443, 13.145, 13.145, 12.706), (848, 13.197, 13.197, 12.864), (1248, 13.182, 13.182, 13.182)]
LITERATURE = [
    ("experiment (Larraz et al. 2013)", "≈ 918 K", "—"),
    ("experiment (in-situ lattice, Chen et al. 2015)", "≈ 899 K (volume jump ≈ +0.35 %)", "5.2e-5 /K (cubic 899–1248 K)"),
    ("DPMD, DFT-trained (You et al. 2024, the paper)", "≈ 900 K", "α ≈ 5.48e-5 /K (c-LLZO 1000–1500 K)"),
    ("NEP (Yan & Zhu 2024, 4×4×4)", "875–900 K", "—"),
]


def blocks(x, n=NBLOCKS):
    """Mean and standard error from n contiguous blocks."""
    x = np.asarray(x, float)
    m = len(x) // n * n
    if m < n:
        return float(np.mean(x)), float("nan")
    b = x[:m].reshape(n, -1).mean(axis=1)
    return float(x.mean()), float(b.std(ddof=1) / math.sqrt(n))


def read_vector_file(path):
    """fix ave/time (mode vector) or ave/histo file: the last block, as an array of rows.
    Each block starts with a header line "timestep nrows ..." followed by nrows rows."""
    rows = [l.split() for l in Path(path).read_text().splitlines() if l.strip() and not l.startswith("#")]
    out, i = None, 0
    while i < len(rows):
        n = int(float(rows[i][1]))
        out = np.array(rows[i + 1:i + 1 + n], float)
        i += 1 + n
    return out


def rung(dirpath, cells):
    d = np.loadtxt(dirpath / "lattice.dat", comments="#", ndmin=2)
    T = float(d[0, 0])
    abc = d[:, 3:6] / np.asarray(cells, float)
    means = abc.mean(axis=0)
    short = int(np.argmin(means))
    others = [k for k in range(3) if k != short]
    ratio = abc[:, short] / abc[:, others].mean(axis=1)
    r = dict(T=T, samples=len(d), temp=blocks(d[:, 2]), a=blocks(abc[:, 0]), b=blocks(abc[:, 1]), c=blocks(abc[:, 2]),
             c_over_a=blocks(ratio), short_axis="xyz"[short], V=blocks(d[:, 6] / math.prod(cells)),
             coverage_mean=float(np.mean(d[:, 9])), coverage_min=float(np.min(d[:, 9])),
             msd_La=float(d[-1, 10]), pe=blocks(d[:, 7]))
    long_axes = abc[:, others].mean(axis=0)
    r["anisotropy"] = float(abs(long_axes[0] - long_axes[1]) / long_axes.mean())
    r["rdf"] = read_vector_file(dirpath / "rdf.dat") if (dirpath / "rdf.dat").exists() else None
    r["xrd"] = read_vector_file(dirpath / "xrd.dat") if (dirpath / "xrd.dat").exists() else None
    order = li_order_rung(dirpath / "li.dump", cells) if (dirpath / "li.dump").exists() else None
    r.update(order or dict(eta=(float("nan"), float("nan")), eta_halves=[float("nan")] * 2, eta_frames=0))
    frames = dirpath / "uncertain" / "coverage.csv"
    r["dumped_frames"] = 0
    if frames.exists():
        lines = frames.read_text().splitlines()[1:]
        r["dumped_frames"] = sum(1 for l in lines if l.split(",")[-1].strip() == "1")
    return r


def li_order_rung(path, cells):
    """eta per snapshot of a rung's li.dump, its block mean and error, and the two halves' means."""
    etas = np.array([li_order(f["box"], np.column_stack([f["x"], f["y"], f["z"]]), ["Li"] * len(f["x"]), dims=cells).eta
                     for f in read_dump(path)])
    if len(etas) == 0:
        return None
    half = len(etas) // 2
    halves = [float(etas[:half].mean()), float(etas[half:].mean())] if half else [float(etas.mean())] * 2
    return dict(eta=blocks(etas), eta_halves=halves, eta_frames=len(etas))


def classify(rows):
    """Melted / cubic / tetragonal per rung (definitions in the module docstring)."""
    cold = [r["msd_La"] / r["T"] for r in rows if r["T"] <= 900]
    k = float(np.median(cold)) if cold else float("nan")
    for r in rows:
        r["melted"] = bool(cold) and r["msd_La"] > MSD_MELT_FACTOR * k * r["T"]
        ca = r["c_over_a"][0]
        r["cubic"] = (not r["melted"]) and (1 - ca) <= 2 * r["anisotropy"] + CUBIC_TOL
        r["phase"] = "melted" if r["melted"] else ("cubic" if r["cubic"] else "tetragonal")
    return k


def transition(rows):
    """Tc bracket: the last tetragonal rung below the first cubic one."""
    for i, r in enumerate(rows):
        if r["cubic"] and i > 0 and rows[i - 1]["phase"] == "tetragonal":
            lo, hi = rows[i - 1]["T"], r["T"]
            return dict(Tc=0.5 * (lo + hi), Tc_err=0.5 * (hi - lo), bracket=[lo, hi])
    return None


def expansion(rows, phase="cubic"):
    pts = [r for r in rows if r["phase"] == phase]
    if len(pts) < 2:
        return None
    T = np.array([r["T"] for r in pts])
    V = np.array([r["V"][0] for r in pts])
    L = np.array([(r["a"][0] + r["b"][0] + r["c"][0]) / 3 for r in pts])
    Tm = 0.5 * (T.min() + T.max())
    out = dict(fit_range=[float(T.min()), float(T.max())], points=len(pts))
    for name, y in (("volumetric", V), ("linear", L)):
        A = np.vstack([T - Tm, np.ones_like(T)]).T
        coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
        slope, mid = coef
        if len(pts) > 2:
            s2 = float(np.sum((A @ coef - y) ** 2)) / (len(pts) - 2)
            slope_err = math.sqrt(s2 / np.sum((T - Tm) ** 2))
        else:
            slope_err = float("nan")
        out[name] = dict(alpha=float(slope / mid), alpha_err=float(slope_err / mid))
    return out


def fmt(v, d=4):
    m, e = v
    return f"{m:.{d}f} ± {e:.{d}f}" if not math.isnan(e) else f"{m:.{d}f}"


def sci(value, err):
    """A fitted value with its error; a two-point fit has none, and says so instead of '± nan'."""
    return f"{value:.2e} ± {err:.1e}" if math.isfinite(err) else f"{value:.2e} (two points: no error estimate)"


def fmt_eta(r):
    if r["eta_frames"] == 0:
        return "—"
    return f"{fmt(r['eta'], 2)} ({r['eta_halves'][0]:.2f} / {r['eta_halves'][1]:.2f})"


def write_whole(path, text):
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def plots(out, rows, tc):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def save(fig, name):
        tmp = out / ("." + name + ".tmp.png")
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        os.replace(tmp, out / name)

    T = np.array([r["T"] for r in rows])
    fig, ax = plt.subplots(4, 1, figsize=(6.4, 11.5), sharex=True)
    for key, mk in (("a", "o"), ("b", "s"), ("c", "^")):
        ax[0].errorbar(T, [r[key][0] for r in rows], yerr=[r[key][1] for r in rows], marker=mk, ms=4, capsize=2,
                       label=f"{key} (DPMD)")
    ax[0].plot([e[0] for e in EXPERIMENT], [e[1] for e in EXPERIMENT], "kx", label="experiment a")
    ax[0].plot([e[0] for e in EXPERIMENT], [e[3] for e in EXPERIMENT], "k+", ms=9, label="experiment c")
    ax[0].set_ylabel("lattice constant (Å)")
    ax[0].legend(fontsize=8, ncol=2)
    ax[1].errorbar(T, [r["c_over_a"][0] for r in rows], yerr=[r["c_over_a"][1] for r in rows], marker="o", ms=4,
                   capsize=2)
    ax[1].axhline(1.0, color="gray", lw=0.8)
    ax[1].set_ylabel("c/a")
    ax[2].errorbar(T, [r["V"][0] for r in rows], yerr=[r["V"][1] for r in rows], marker="o", ms=4, capsize=2)
    ax[2].set_ylabel("V per conventional cell (Å³)")
    ax[3].errorbar(T, [r["eta"][0] for r in rows], yerr=[0 if math.isnan(r["eta"][1]) else r["eta"][1] for r in rows],
                   marker="o", ms=4, capsize=2)
    ax[3].set_ylim(-0.1, 1.1)
    ax[3].set_ylabel("Li order η = occ(8a) − occ(16e)")
    ax[3].set_xlabel("T (K)")
    for a_ in ax:
        if tc:
            a_.axvspan(*tc["bracket"], color="orange", alpha=0.2)
        for r in rows:
            if r["melted"]:
                a_.axvspan(r["T"] - 25, r["T"] + 25, color="red", alpha=0.1)
    ax[0].set_title("t-LLZO heated under NPT (shaded: Tc bracket; red: melted)", fontsize=9)
    fig.tight_layout()
    save(fig, "lattice.png")

    xr = [r for r in rows if r["xrd"] is not None]
    if xr:
        fig, ax = plt.subplots(1, 2, figsize=(10, 7), gridspec_kw=dict(width_ratios=[2, 1]))
        for i, r in enumerate(xr):
            x, y = r["xrd"][:, 1], r["xrd"][:, 2]
            y = y / max(y.max(), 1e-30)
            for a_ in ax:
                a_.plot(x, y + 1.1 * i, lw=0.8)
            ax[0].text(60.5, 1.1 * i + 0.1, f"{r['T']:g} K ({r['phase']})", fontsize=7, va="bottom")
        ax[0].set_xlim(10, 60)
        ax[1].set_xlim(25.5, 29.5)
        ax[1].set_title("(400)/(004) window", fontsize=9)
        for a_ in ax:
            a_.set_xlabel("2θ (degrees, Cu Kα)")
            a_.set_yticks([])
        ax[0].set_title("XRD (compute xrd), normalised, offset by T", fontsize=9)
        fig.tight_layout()
        save(fig, "xrd.png")

    rr = [r for r in rows if r["rdf"] is not None]
    if rr:
        fig, ax = plt.subplots(1, len(RDF_PAIRS), figsize=(3 * len(RDF_PAIRS), 6), sharey=True)
        for i, r in enumerate(rr):
            x = r["rdf"][:, 1]
            for k, name in enumerate(RDF_PAIRS):
                ax[k].plot(x, r["rdf"][:, 2 + 2 * k] + 4 * i, lw=0.8, label=f"{r['T']:g} K")
        for k, name in enumerate(RDF_PAIRS):
            ax[k].set_title(f"g(r) {name}", fontsize=9)
            ax[k].set_xlabel("r (Å)")
        ax[0].set_ylabel("g(r), offset 4 per rung")
        ax[-1].legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        save(fig, "rdf.png")

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(T, [r["coverage_mean"] for r in rows], "o-", label="mean over production")
    ax.plot(T, [r["coverage_min"] for r in rows], "v--", label="minimum")
    ax.set_xlabel("T (K)")
    ax.set_ylabel("coverage by the training set")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, "coverage.png")


def analyze(out):
    out = Path(out)
    meta = json.loads((out / "meta.json").read_text())
    cells = meta["cells"]
    dirs = sorted((d for d in out.glob("T[0-9]*") if (d / "lattice.dat").exists()), key=lambda d: int(d.name[1:]))
    if not dirs:
        sys.exit(f"no finished rungs in {out}")
    rows = [rung(d, cells) for d in dirs]
    classify(rows)
    tc = transition(rows)
    exp = expansion(rows)
    exp_t = expansion(rows, "tetragonal")

    with open(out / ".lattice_vs_T.csv.tmp", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["T_set_K", "T_K", "T_err", "a_A", "a_err", "b_A", "b_err", "c_A", "c_err", "c_over_a", "c_over_a_err",
                    "short_axis", "V_cell_A3", "V_err", "eta", "eta_err", "eta_first_half", "eta_second_half", "coverage_mean", "coverage_min", "msd_La_A2", "phase",
                    "dumped_frames"])
        for r in rows:
            w.writerow([f"{r['T']:g}"] + [f"{x:.6g}" for x in r["temp"]] +
                       [f"{x:.6g}" for k in ("a", "b", "c", "c_over_a") for x in r[k]] + [r["short_axis"]] +
                       [f"{x:.6g}" for x in r["V"]] + [f"{x:.4g}" for x in (*r["eta"], *r["eta_halves"])] +
                       [f"{r['coverage_mean']:.4f}", f"{r['coverage_min']:.4f}", f"{r['msd_La']:.4f}", r["phase"],
                        r["dumped_frames"]])
    os.replace(out / ".lattice_vs_T.csv.tmp", out / "lattice_vs_T.csv")

    summary = dict(meta=meta, Tc=tc, expansion=exp, expansion_tetragonal=exp_t,
                   rungs=[{k: v for k, v in r.items() if k not in ("rdf", "xrd")} for r in rows],
                   criteria=dict(blocks=NBLOCKS, msd_melt_factor=MSD_MELT_FACTOR, cubic_tol=CUBIC_TOL))
    write_whole(out / "summary.json", json.dumps(summary, indent=2) + "\n")

    n = "×".join(map(str, cells))
    lines = [f"# Heating ladder of t-LLZO, {192 * math.prod(cells)} atoms ({n}), model `{meta['model']}`", "",
             f"NPT ({meta['barostat']}), dt 1 fs; per rung {meta['equil']} equilibration + {meta['prod']} production "
             f"steps, samples every {meta['every']} steps, errors from {NBLOCKS} blocks. Rungs continue from the previous "
             "one's final state (heating ladder).", "",
             "| T (K) | a (Å) | b (Å) | c (Å) | c/a | anisotropy d | V/cell (Å³) | η (halves) | coverage mean / min | La MSD (Å²) | phase |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    print(f"\n{'T (K)':>6} {'a (Å)':>16} {'b (Å)':>16} {'c (Å)':>16} {'c/a':>16} {'V (Å^3)':>14} {'eta':>6} {'cov':>6} {'phase':>10}")
    for r in rows:
        print(f"{r['T']:>6g} {fmt(r['a']):>16} {fmt(r['b']):>16} {fmt(r['c']):>16} {fmt(r['c_over_a']):>16} "
              f"{r['V'][0]:>14.1f} {r['eta'][0]:>6.2f} {r['coverage_mean']:>6.3f} {r['phase']:>10}")
        lines.append(f"| {r['T']:g} | {fmt(r['a'])} | {fmt(r['b'])} | {fmt(r['c'])} | {fmt(r['c_over_a'])} | "
                     f"{r['anisotropy']:.4f} | {fmt(r['V'], 1)} | {fmt_eta(r)} | {r['coverage_mean']:.3f} / {r['coverage_min']:.3f} | {r['msd_La']:.3f} | {r['phase']} |")
    tc_txt = (f"{tc['Tc']:.0f} ± {tc['Tc_err']:.0f} K (last tetragonal {tc['bracket'][0]:g} K, first cubic "
              f"{tc['bracket'][1]:g} K)" if tc else "no tetragonal → cubic step found on this ladder")
    if exp:
        ev, el = exp["volumetric"], exp["linear"]
        exp_txt = (f"volumetric {sci(ev['alpha'], ev['alpha_err'])} /K, linear {sci(el['alpha'], el['alpha_err'])} /K (cubic rungs {exp['fit_range'][0]:g}–{exp['fit_range'][1]:g} K, "
                   f"{exp['points']} points)")
    else:
        exp_txt = "fewer than two cubic, unmelted rungs: no fit"
    if exp_t:
        ev = exp_t["volumetric"]
        exp_t_txt = (f"volumetric {sci(ev['alpha'], ev['alpha_err'])} /K over the tetragonal rungs "
                     f"{exp_t['fit_range'][0]:g}–{exp_t['fit_range'][1]:g} K ({exp_t['points']} points)")
    else:
        exp_t_txt = "fewer than two tetragonal rungs"
    melt = [r["T"] for r in rows if r["melted"]]
    pdamp = re.search(r"Pdamp ([0-9.]+) ps", meta.get("barostat", ""))
    if pdamp and meta["equil"] * meta.get("timestep_fs", 1.0) * 1e-3 < 20 * float(pdamp.group(1)):
        lines += ["", "**A quick ladder: its rungs equilibrate for less than 20 barostat periods and heat an ordered "
                  "cell, so the transition it shows is an upper bound on Tc, not a measurement (the full protocol "
                  "and result: examples/heating/README.md).**"]
    lines += ["", f"- **Tc** (the short axis no longer shorter than 2 × the anisotropy of the other two + {CUBIC_TOL}): {tc_txt}",
              f"- **Thermal expansion of the cubic phase**: {exp_txt}",
              f"- Thermal expansion of the tetragonal phase (for the experimental 5.2e-5 /K, 443–848 K): {exp_t_txt}",
              f"- **Melted** (La MSD over production > {MSD_MELT_FACTOR:g} × the crystal's MSD/T × T): "
              f"{', '.join(f'{t:g} K' for t in melt) or 'none'}",
              "", "| source | t→c transition | expansion (cubic) |", "|---|---|---|",
              f"| **this run** (llzo_dp, reference-method-trained model) | {tc_txt.split(' (')[0]} | "
              f"{exp_txt.split(' (')[0]} |"]
    lines += [f"| {s} | {t} | {e} |" for s, t, e in LITERATURE]
    lines += ["", "![lattice](lattice.png)", "", "![xrd](xrd.png)", "", "![rdf](rdf.png)", "", "![coverage](coverage.png)", ""]
    write_whole(out / "summary.md", "\n".join(lines))
    print(f"\nTc: {tc_txt}\nexpansion: {exp_txt}\nmelted: {melt or 'none'}")
    try:
        plots(out, rows, tc)
        print(f"plots, lattice_vs_T.csv and summary.md in {out}")
    except ImportError as e:  # matplotlib missing: tables are still written
        print(f"no plots ({e})")
    return summary


# What --publish copies: the tables and the lattice plot (the run's one figure in results/).
SUMMARY_FILES = ("summary.md", "lattice_vs_T.csv", "summary.json", "lattice.png")


def publish(out, dest):
    """Copies a run's summary (SUMMARY_FILES) into dest, each file whole (temp + rename); the
    published summary.md links only the figures that are copied."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in SUMMARY_FILES:
        data = (Path(out) / name).read_bytes()
        if name == "summary.md":
            lines = data.decode().split("\n")
            keep = [l for l in lines if not (l.startswith("![") and l.split("(")[-1].rstrip(")") not in SUMMARY_FILES)]
            data = (re.sub(r"\n{3,}", "\n\n", "\n".join(keep)).rstrip("\n") + "\n").encode()
        tmp = dest / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, dest / name)
    print(f"summary of {out} copied to {dest}")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--publish", type=Path, metavar="RESULTS_DIR",
                    help="also copy the summary files into this directory")
    args = ap.parse_args()
    analyze(args.run_dir)
    if args.publish:
        publish(args.run_dir, args.publish)
