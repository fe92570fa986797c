"""PC1-PC2 maps of training against test atoms, one panel per element, like Fig. 3a of
You et al. (2024). Reads the CSV that `llzo-dp coverage check REF SYSTEM... --pcs-csv FILE`
writes and saves a PNG.

    python examples/coverage/plot_pc_map.py pcs.csv -o pc_map.png
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def read(path: str):
    points = defaultdict(lambda: {"train": ([], []), "test": ([], []), "cov": []})
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            p = points[row["element"]]
            xs, ys = p[row["set"]]
            xs.append(float(row["pc1"]))
            ys.append(float(row["pc2"]))
            if row["set"] == "test":
                p["cov"].append(float(row["atom_coverage"]))
    return points


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="file written by llzo-dp coverage check --pcs-csv")
    ap.add_argument("-o", "--output", default="pc_map.png")
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    points = read(args.csv)
    elements = list(points)
    fig, axes = plt.subplots(1, max(len(elements), 1), figsize=(4.2 * max(len(elements), 1), 4.0), squeeze=False)
    for ax, el in zip(axes[0], elements):
        p = points[el]
        ax.scatter(*p["train"], s=4, c="0.6", label="training", rasterized=True)
        if p["test"][0]:
            flagged = [c < 1.0 for c in p["cov"]]
            tx, ty = p["test"]
            ax.scatter([x for x, f in zip(tx, flagged) if not f], [y for y, f in zip(ty, flagged) if not f],
                       s=5, c="tab:blue", label="test, covered", rasterized=True)
            ax.scatter([x for x, f in zip(tx, flagged) if f], [y for y, f in zip(ty, flagged) if f],
                       s=5, c="tab:red", label="test, uncovered", rasterized=True)
        ax.set_title(el)
        ax.set_xlabel("PC1")
        ax.set_ylabel("PC2")
    axes[0][0].legend(loc="best", fontsize=8, markerscale=3)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
