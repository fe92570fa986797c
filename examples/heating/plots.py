"""Figures of an NPT ladder analysis (analyze.py): lattice and order against T for both branches,
XRD, RDF and the rungs' block series per branch, coverage. Each file is written whole (temp file,
then rename)."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analyze import EXPERIMENT  # noqa: E402
from llzo_dp_tools.structures import save_figure  # noqa: E402

RDF_PAIRS = ["Li-O", "La-O", "Zr-O", "O-O", "La-La"]
STYLE = {"heating": dict(marker="o", ls="-", color="tab:red"), "cooling": dict(marker="s", ls="--", color="tab:blue")}


def save(fig, out, name):
    save_figure(fig, out / name)
    plt.close(fig)


def errs(rows, key):
    return [e if math.isfinite(e) else 0.0 for e in (r[key][1] for r in rows)]


def lattice_plot(out, branches, tc):
    fig, ax = plt.subplots(4, 1, figsize=(6.4, 12), sharex=True)
    for b in branches:
        rows, st = b["rows"], STYLE[b["name"]]
        T = [r["T"] for r in rows]
        ax[0].plot(T, [r["a_len"][0] for r in rows], ms=4, label=f"a ({b['name']})", **st)
        ax[0].plot(T, [r["c_len"][0] for r in rows], ms=4, mfc="none", label=f"c ({b['name']})", **st)
        ax[1].errorbar(T, [r["c_over_a"][0] for r in rows], yerr=errs(rows, "c_over_a"), ms=4, capsize=2,
                       label=b["name"], **st)
        ax[2].errorbar(T, [r["V"][0] for r in rows], yerr=errs(rows, "V"), ms=4, capsize=2, **st)
        ax[3].errorbar(T, [r["eta"][0] for r in rows], yerr=errs(rows, "eta"), ms=4, capsize=2, **st)
        for r in rows:
            if not r["stationary"]:
                ax[3].plot(r["T"], r["eta"][0], "kx", ms=9)
    ax[0].plot([e[0] for e in EXPERIMENT], [e[1] for e in EXPERIMENT], "kx", label="experiment a")
    ax[0].plot([e[0] for e in EXPERIMENT], [e[3] for e in EXPERIMENT], "k+", ms=9, label="experiment c")
    ax[0].set_ylabel("lattice constant (Å)")
    ax[0].legend(fontsize=7, ncol=2)
    ax[1].axhline(1.0, color="gray", lw=0.8)
    ax[1].set_ylabel("c/a (c: the ordering axis)")
    ax[1].legend(fontsize=8)
    ax[2].set_ylabel("V per conventional cell (Å³)")
    ax[3].set_ylim(-0.1, 1.1)
    ax[3].set_ylabel("Li order η = occ(8a) − occ(16e)")
    ax[3].set_xlabel("T (K)")
    lo, hi = tc["lower"], tc["upper"]
    for a_ in ax:
        if lo is not None and hi is not None:
            a_.axvspan(lo, hi, color="orange", alpha=0.2)
        for b in branches:
            for r in b["rows"]:
                if r["melted"]:
                    a_.axvspan(r["T"] - 25, r["T"] + 25, color="red", alpha=0.1)
    ax[0].set_title("LLZO under NPT, heating and cooling (shaded: Tc bracket; x: rung not stationary)", fontsize=9)
    fig.tight_layout()
    save(fig, out, "lattice.png")


def xrd_plot(out, b):
    rows = [r for r in b["rows"] if r["xrd"] is not None]
    if not rows:
        return
    fig, ax = plt.subplots(1, 2, figsize=(10, 7), gridspec_kw=dict(width_ratios=[2, 1]))
    for i, r in enumerate(rows):
        x, y = r["xrd"][:, 1], r["xrd"][:, 2]
        y = y / max(y.max(), 1e-30)
        for a_ in ax:
            a_.plot(x, y + 1.1 * i, lw=0.8)
        ax[0].text(60.5, 1.1 * i + 0.1, f"{r['T']:g} K ({r['order']})", fontsize=7, va="bottom")
    ax[0].set_xlim(10, 60)
    ax[1].set_xlim(25.5, 29.5)
    ax[1].set_title("(400)/(004) window", fontsize=9)
    for a_ in ax:
        a_.set_xlabel("2θ (degrees, Cu Kα)")
        a_.set_yticks([])
    ax[0].set_title(f"XRD (compute xrd), {b['name']} branch, normalised, offset by T", fontsize=9)
    fig.tight_layout()
    save(fig, out, f"xrd_{b['name']}.png")


def rdf_plot(out, b):
    rows = [r for r in b["rows"] if r["rdf"] is not None]
    if not rows:
        return
    fig, ax = plt.subplots(1, len(RDF_PAIRS), figsize=(3 * len(RDF_PAIRS), 6), sharey=True)
    for i, r in enumerate(rows):
        for k in range(len(RDF_PAIRS)):
            ax[k].plot(r["rdf"][:, 1], r["rdf"][:, 2 + 2 * k] + 4 * i, lw=0.8, label=f"{r['T']:g} K")
    for k, name in enumerate(RDF_PAIRS):
        ax[k].set_title(f"g(r) {name}", fontsize=9)
        ax[k].set_xlabel("r (Å)")
    ax[0].set_ylabel(f"g(r), {b['name']} branch, offset 4 per rung")
    ax[-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    save(fig, out, f"rdf_{b['name']}.png")


def series_plot(out, b):
    """eta and c/a of each rung's 2.5 ps blocks against production time: the switching between
    the ordered tetragonal and the disordered cubic state that rung means blur."""
    rows = [r for r in b["rows"] if r["series"]]
    if not rows:
        return
    from rung import ETA_BLOCK_ORDERED
    fig, ax = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    colors = plt.cm.coolwarm([(i + 0.5) / len(rows) for i in range(len(rows))])
    for r, col in zip(rows, colors):
        t = [x["t_ps"] for x in r["series"]]
        ax[0].plot(t, [x["eta"] for x in r["series"]], "o-", ms=3, color=col, label=f"{r['T']:g} K")
        ax[1].plot(t, [x["c_over_a"] for x in r["series"]], "o-", ms=3, color=col)
    ax[0].axhline(ETA_BLOCK_ORDERED, color="gray", lw=0.8, ls=":")
    ax[0].set_ylabel("η (block mean)")
    ax[0].set_ylim(-0.05, 1.05)
    ax[0].legend(fontsize=7, ncol=4)
    ax[1].axhline(1.0, color="gray", lw=0.8)
    ax[1].set_ylabel("c/a along the block's ordering axis")
    ax[1].set_xlabel("production time (ps)")
    ax[0].set_title(f"{b['name']} branch: 2.5 ps blocks of each rung (dotted: 'ordered' threshold)", fontsize=9)
    fig.tight_layout()
    save(fig, out, f"series_{b['name']}.png")


def coverage_plot(out, branches):
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for b in branches:
        T = [r["T"] for r in b["rows"]]
        ax.plot(T, [r["coverage_mean"] for r in b["rows"]], label=f"{b['name']}: mean", **STYLE[b["name"]])
        ax.plot(T, [r["coverage_min"] for r in b["rows"]], marker="v", ls=":", color=STYLE[b["name"]]["color"],
                label=f"{b['name']}: minimum")
    ax.set_xlabel("T (K)")
    ax.set_ylabel("coverage by the training set")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out, "coverage.png")


def all_plots(out, branches, tc):
    lattice_plot(out, branches, tc)
    for b in branches:
        xrd_plot(out, b)
        series_plot(out, b)
        rdf_plot(out, b)
    coverage_plot(out, branches)
