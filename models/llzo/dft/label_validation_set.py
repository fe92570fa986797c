"""DFT-PBE labels of the validation set (frames.json) with the settings of llzo_dp_tools.dft at the
cutoff chosen in convergence.py, two single-rank GPAW processes at a time. Resumable: finished
frames are cached by hash (llzo_dp_tools.dft), so a rerun computes only what is missing, and the
labels written here are always the finished subset:

- validation/<family>/: deepmd/npy systems (energy, force, virial), for `dp test -s`; the virial
  carries the isotropic Pulay correction of convergence.json (500 eV stress + (sigma(900 eV) -
  sigma(500 eV)) on two frames), none is written until that correction is measured;
- validation/labels.csv: one row per labelled frame (energy, corrected pressure, cost).

Frames with two atoms closer than MIN_CONTACT are left out, labelled or not: no LLZO bond is
shorter than ~1.8 Å (Li-O), and the 3000 K melt of frames.json (run with the model shipped on
2026-11-27, which has no short-range repulsion) brought Zr pairs to 0.94-1.27 Å; DFT puts those
frames 4.5-5.9 eV/atom above the crystal, and one of them would outweigh every other error.

    python label_validation_set.py [--workers 2] [--only FAMILY ...] [--write-only]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np

from convergence import CHOSEN, GPA, HERE, load_frames
from llzo_dp_tools import dft
from llzo_dp_tools import structures as L

OUT = HERE / "validation"
SETTINGS = dft.DftSettings(ecut=CHOSEN)
# most informative first: the c/a curve and the phases around the transition
PRIORITY = ("c_over_a", "crystal", "md_900K", "li_disordered", "md_300K", "md_1500K", "amorphous")
# Å: below the shortest bond of any LLZO phase, and below the shortest La/Zr-La/Zr distance of
# any La or Zr oxide (3.3 Å and more); closer pairs are collapsed structures, not chemistry.
MIN_CONTACT = 1.5
MIN_CATION_CONTACT = 2.6
HEAVY_CATIONS = ("La", "Zr")


def contact_limit(a: str, b: str) -> float:
    return MIN_CATION_CONTACT if a in HEAVY_CATIONS and b in HEAVY_CATIONS else MIN_CONTACT


def shortest_distance(s: L.Structure) -> float:
    """The shortest interatomic distance of the (periodic) frame."""
    return min(L.nearest_distance(s, a, b) for a in set(s.symbols) for b in set(s.symbols))


def close_contact(s: L.Structure):
    """(a, b, distance, limit) of the pair furthest below its contact limit, or None."""
    worst = None
    for a in sorted(set(s.symbols)):
        for b in sorted(set(s.symbols)):
            if a <= b:
                d, limit = L.nearest_distance(s, a, b), contact_limit(a, b)
                if d < limit and (worst is None or d / limit < worst[2] / worst[3]):
                    worst = (a, b, d, limit)
    return worst


def physical(frames: list[L.Structure]) -> list[L.Structure]:
    """The frames without close contacts (contact_limit); the others are named on stdout."""
    keep = []
    for s in frames:
        bad = close_contact(s)
        if bad:
            a, b, d, limit = bad
            print(f"left out {s.info['name']}: {a}-{b} {d:.2f} Å apart (< {limit} Å)")
        else:
            keep.append(s)
    return keep


def labelling_order(frames: list[L.Structure]) -> list[L.Structure]:
    """Round robin over the families in PRIORITY order, so that a partly labelled set already
    holds frames of every family: the k-th frame of each family before the (k+1)-th of any."""
    rank = {f: k for k, f in enumerate(PRIORITY)}
    seen: dict[str, int] = {}
    keyed = []
    for s in frames:
        fam = s.info["family"]
        seen[fam] = seen.get(fam, -1) + 1
        keyed.append(((seen[fam], rank.get(fam, len(PRIORITY))), s))
    return [s for _, s in sorted(keyed, key=lambda x: x[0])]


def pulay_correction() -> float:
    """Isotropic stress to add to the CHOSEN-cutoff stress (eV/A^3, ASE's sign)."""
    conv = HERE / "convergence.json"
    corr = json.loads(conv.read_text())["pulay"]["correction_GPa"] if conv.is_file() else None
    if corr is None:
        raise SystemExit("convergence.json has no Pulay correction yet: run convergence.py first")
    return corr / GPA


def write_labels(frames: list[L.Structure], results: list) -> int:
    done = [(s, r) for s, r in zip(frames, results) if r is not None]
    shift = pulay_correction() * np.eye(3)
    for _, r in done:
        r.stress = r.stress + shift
    rows = io.StringIO()
    w = csv.writer(rows)
    w.writerow(["name", "family", "n_atoms", "energy_eV", "pressure_GPa", "szz_minus_sxy_GPa",
                "wall_s", "scf_iterations"])
    families = {}
    for s, r in done:
        families.setdefault(s.info["family"], []).append((s, r))
        st = r.stress * GPA
        w.writerow([s.info["name"], s.info["family"], len(s), f"{r.energy:.6f}", f"{-np.trace(st) / 3:.3f}",
                    f"{st[2, 2] - (st[0, 0] + st[1, 1]) / 2:.3f}", f"{r.wall_s:.0f}", r.scf_iterations])
    OUT.mkdir(exist_ok=True)
    for stale in [d for d in OUT.iterdir() if d.is_dir() and d.name not in families]:
        shutil.rmtree(stale)  # a family whose frames are all left out now
    for fam, items in families.items():
        L.write_deepmd_npy(str(OUT / fam), [s for s, _ in items], energies=[r.energy for _, r in items],
                           forces=[r.forces for _, r in items],
                           virials=[r.virial(s.volume) for s, r in items])
    L._atomic_write_text(OUT / "labels.csv", rows.getvalue())
    return len(done)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=None, help="families to label (default: all)")
    ap.add_argument("--write-only", action="store_true", help="write the frames finished so far, compute none")
    args = ap.parse_args()
    frames = labelling_order(physical(load_frames()))
    todo = [s for s in frames if args.only is None or s.info["family"] in args.only]
    if not args.write_only:
        dft.label_jobs([(s, SETTINGS, "single") for s in todo], workers=args.workers)
    # every frame already labelled, whatever --only said, goes into the written set
    results = dft.cached([(s, SETTINGS, "single") for s in frames])
    n = write_labels(frames, results)
    print(f"{n} of {len(frames)} frames labelled -> {OUT}")
    return 0 if n == len(frames) else 1


if __name__ == "__main__":
    raise SystemExit(main())
