"""Figures and one CSV of active-learning runs, like Fig. 3 of the paper: the exploration's mean
frame coverage per iteration (a), the held-out RMSE per family per iteration (b), the held-out
force error against coverage (c), each arm (selection criterion) as one line, against the frames
labelled so far; and the PC1-PC2 maps of the first and last explored iterations of one arm.

    python examples/active_learning/plots.py RUN_DIR... [-o OUT_DIR]

RUN_DIR is an `active_learning --work` directory (its record.json files are read). Writes
OUT_DIR/al_iterations.csv, coverage.png, heldout_rmse.png, error_vs_coverage.png and
pc_maps_<arm>.png (default OUT_DIR: the first RUN_DIR).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "coverage"))
import plot_pc_map  # noqa: E402
from llzo_dp_tools.structures import _atomic_write_text as write_whole, save_figure  # noqa: E402


def records(run: Path) -> list[dict]:
    out = []
    for rec in sorted(run.glob("iter_*/record.json")):
        r = json.loads(rec.read_text())
        r["dir"] = rec.parent
        out.append(r)
    return out


def arm(run: Path, recs: list[dict]) -> str:
    return recs[0].get("criterion", run.name) if recs else run.name


def table(runs: dict[Path, list[dict]]) -> list[dict]:
    """One row per arm and iteration: the explored model's coverage and held-out errors, with the
    frames labelled before it (the budget it was trained with)."""
    rows = []
    for run, recs in runs.items():
        labelled = 0
        for r in recs:
            row = {"arm": arm(run, recs), "iteration": r["iteration"], "labelled_before": labelled,
                   "mean_coverage": r["mean_coverage"], "heldout_e": r.get("heldout_e", float("nan")),
                   "heldout_f": r.get("heldout_f", float("nan")), "ended_early": len(r.get("ended_early", [])),
                   "halted": len(r.get("halted", [])), "rejected": sum(r.get("rejected", {}).values())}
            for fam, v in r.get("heldout_families", {}).items():
                row[f"e_{fam}"], row[f"f_{fam}"] = v["rmse_e"], v["rmse_f"]
            rows.append(row)
            labelled += r["chosen"] if not r.get("converged") else 0
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, cols)
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    write_whole(path, buf.getvalue())


def save(fig, path: Path) -> None:
    save_figure(fig, path)
    plt.close(fig)


def by_arm(rows: list[dict]) -> dict[str, list[dict]]:
    arms: dict[str, list[dict]] = {}
    for r in rows:
        arms.setdefault(r["arm"], []).append(r)
    return arms


def plot_coverage(rows: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    for arm, rs in by_arm(rows).items():
        ax.plot([r["labelled_before"] for r in rs], [100 * r["mean_coverage"] for r in rs], "o-", label=arm)
    ax.axhline(99.5, color="0.5", ls=":", lw=1, label="target 99.5 %")
    ax.set_xlabel("frames labelled beyond Data 0")
    ax.set_ylabel("mean frame coverage of the exploration (%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path)


def plot_rmse(rows: list[dict], path: Path) -> None:
    fams = sorted({k[2:] for r in rows for k in r if k.startswith("f_")})
    if not fams:
        return
    fig, axes = plt.subplots(2, len(fams), figsize=(3.0 * len(fams), 5.4), squeeze=False)
    for j, fam in enumerate(fams):
        for arm, rs in by_arm(rows).items():
            x = [r["labelled_before"] for r in rs]
            axes[0][j].plot(x, [r.get(f"e_{fam}", float("nan")) for r in rs], "o-", label=arm)
            axes[1][j].plot(x, [r.get(f"f_{fam}", float("nan")) for r in rs], "o-", label=arm)
        axes[0][j].set_title(fam)
        axes[1][j].set_xlabel("frames labelled")
    axes[0][0].set_ylabel("held-out energy RMSE (meV/atom)")
    axes[1][0].set_ylabel("held-out force RMSE (meV/Å)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    save(fig, path)


def plot_error_vs_coverage(rows: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    for arm, rs in by_arm(rows).items():
        ax.plot([100 * r["mean_coverage"] for r in rs], [r["heldout_f"] for r in rs], "o-", label=arm)
        for r in rs:
            ax.annotate(str(r["iteration"]), (100 * r["mean_coverage"], r["heldout_f"]), fontsize=7)
    ax.set_xlabel("mean frame coverage of the exploration (%)")
    ax.set_ylabel("held-out force RMSE, all families (meV/Å)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path)


def plot_pc_maps(run: Path, path: Path) -> None:
    """Data 0 against the first exploration's dumped frames, and the last training set against
    the last exploration's (the candidates' PCs, written when they were chosen)."""
    found = [p for p in sorted(run.glob("iter_*/explore/candidates_pcs.csv"))]
    if not found:
        return
    picks = [found[0], found[-1]] if len(found) > 1 else found
    maps = [plot_pc_map.read(str(p)) for p in picks]
    elements = list(maps[0])
    fig, axes = plt.subplots(len(picks), len(elements), figsize=(3.4 * len(elements), 3.2 * len(picks)), squeeze=False)
    for i, (p, points) in enumerate(zip(picks, maps)):
        for j, el in enumerate(elements):
            ax, pt = axes[i][j], points.get(el)
            if pt is None:
                continue
            ax.scatter(*pt["train"], s=3, c="0.6", rasterized=True)
            tx, ty = pt["test"]
            ax.scatter([x for x, c in zip(tx, pt["cov"]) if c >= 1.0], [y for y, c in zip(ty, pt["cov"]) if c >= 1.0],
                       s=4, c="tab:blue", rasterized=True)
            ax.scatter([x for x, c in zip(tx, pt["cov"]) if c < 1.0], [y for y, c in zip(ty, pt["cov"]) if c < 1.0],
                       s=4, c="tab:red", rasterized=True)
            ax.set_title(f"{el}, {p.parent.parent.name}", fontsize=9)
    axes[0][0].set_ylabel("PC2 (grey: training, red: uncovered)")
    fig.tight_layout()
    save(fig, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("-o", "--out", type=Path)
    a = ap.parse_args(argv)
    out = a.out or a.runs[0]
    out.mkdir(parents=True, exist_ok=True)
    runs = {run: records(run) for run in a.runs}
    rows = table(runs)
    if not rows:
        print("no finished iteration in", *a.runs)
        return 1
    write_csv(rows, out / "al_iterations.csv")
    plot_coverage(rows, out / "coverage.png")
    plot_rmse(rows, out / "heldout_rmse.png")
    plot_error_vs_coverage(rows, out / "error_vs_coverage.png")
    for run, recs in runs.items():
        plot_pc_maps(run, out / f"pc_maps_{arm(run, recs)}.png")
    print(f"wrote {out}/al_iterations.csv and the figures ({len(rows)} iterations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
