"""Which explored frames get labelled: the three criteria an active-learning iteration compares.

- coverage (the paper's): frames the in-run monitor dumped below its coverage threshold, least
  covered first, de-duplicated by their PCA coordinates and thinned to the budget by
  farthest-point sampling, so that a budget is not spent on near-copies of one excursion;
- deviation (DP-GEN's): frames whose largest force deviation over an ensemble of models
  (`max_devi_f` of `model_devi.out`) lies between the trust levels lo <= max_devi_f < hi
  (below lo the models agree, above hi the frame is taken as unphysical), drawn at random;
- random: frames drawn at random from the same trajectories.

A frame's PCA fingerprint is the mean over its atoms, per element, of their first two
principal components (`llzo-dp coverage check --pcs-csv`), scaled per column by the spread
of the candidates: frames close in that space sample the same environments.
Every draw takes a seed, so an iteration can be rerun and give the same frames.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Candidate:
    key: str                  # where the frame is (run directory and step)
    coverage: float           # the monitor's frame coverage (nan when not measured)
    fingerprint: tuple = ()   # PCA fingerprint (module docstring)


def farthest_point(points: np.ndarray, k: int, first: int = 0) -> list[int]:
    """Indices of k points chosen greedily, each the farthest from those already chosen,
    starting from `first`."""
    points = np.asarray(points, float)
    n = len(points)
    if k <= 0 or n == 0:
        return []
    chosen = [first]
    dist = np.linalg.norm(points - points[first], axis=1)
    while len(chosen) < min(k, n):
        nxt = int(np.argmax(dist))
        if dist[nxt] <= 0.0:  # only duplicates left
            break
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(points - points[nxt], axis=1))
    return chosen


def scaled(fingerprints) -> np.ndarray:
    """Fingerprints as an array, each column divided by its spread (constant columns kept at 0)."""
    x = np.asarray(fingerprints, float)
    if x.ndim != 2 or len(x) == 0:
        return np.zeros((len(x), 0))
    spread = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def by_coverage(candidates: list[Candidate], budget: int, min_distance: float = 0.0) -> list[Candidate]:
    """The paper's choice: least covered first, near-duplicates (closer than min_distance in
    scaled fingerprint space) dropped, then farthest-point sampling down to the budget."""
    order = sorted(candidates, key=lambda c: (c.coverage, c.key))
    if not order or budget <= 0:
        return []
    x = scaled([c.fingerprint for c in order])
    kept = []
    for i in range(len(order)):
        if x.shape[1] == 0 or all(np.linalg.norm(x[i] - x[j]) >= min_distance for j in kept):
            kept.append(i)
    if len(kept) <= budget:
        return [order[i] for i in kept]
    pick = farthest_point(x[kept], budget)  # starts from the least covered
    return [order[kept[i]] for i in sorted(pick)]


@dataclass(frozen=True)
class DeviationRow:
    key: str
    max_devi_f: float


def read_model_devi(path, key_prefix: str = "") -> list[DeviationRow]:
    """Rows of a DeePMD-kit model_devi.out (step, max/min/avg devi_v, max/min/avg devi_f, ...)."""
    rows = []
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split()
        rows.append(DeviationRow(f"{key_prefix}{int(float(cols[0]))}", float(cols[4])))
    return rows


def by_deviation(rows: list[DeviationRow], lo: float, hi: float, budget: int, seed: int) -> list[DeviationRow]:
    """DP-GEN's choice: candidates with lo <= max_devi_f < hi, `budget` of them at random."""
    if not 0.0 <= lo < hi:
        raise ValueError(f"trust levels need 0 <= lo < hi, got lo={lo}, hi={hi}")
    cand = [r for r in rows if lo <= r.max_devi_f < hi]
    return at_random(cand, budget, seed)


def at_random(items: list, budget: int, seed: int) -> list:
    """`budget` items drawn without replacement (all of them when there are fewer), in order."""
    if budget >= len(items):
        return list(items)
    pick = np.random.default_rng(seed).choice(len(items), size=budget, replace=False)
    return [items[i] for i in sorted(pick)]


def fingerprints_from_pcs(path, elements) -> dict[str, tuple]:
    """Per system and frame of a `llzo-dp coverage check --pcs-csv` file: the mean PC1 and
    PC2 of its atoms, per element (nan for an element absent from the frame)."""
    acc: dict[tuple, list] = {}
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) < 8 or row[0] != "test":
                continue
            element, system, frame = row[1], row[2], row[3]
            acc.setdefault((system, frame), {}).setdefault(element, []).append((float(row[5]), float(row[6])))
    out = {}
    for (system, frame), per in acc.items():
        fp = []
        for e in elements:
            v = np.mean(per[e], axis=0) if e in per else (np.nan, np.nan)
            fp += [float(v[0]), float(v[1])]
        out[f"{system}:{frame}"] = tuple(fp)
    return out
