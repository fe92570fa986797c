#!/usr/bin/env python3
"""Build the small Li/La/Zr/O training set for the test DeePMD model.

Structures come from llzo_dp_tools.structures; labels (energy eV,
forces eV/A, virial eV) from the pretrained universal potential CHGNet 0.3.0
(PyPI package ``chgnet``, weights shipped in the package), run on CPU.

Systems (deepmd/npy, type_map Li La Zr O, float64):

* ``prim96``   -- 96-atom primitive t-LLZO cell (DFT lattice), random strain
                  (each Cartesian axis scaled by a factor in [0.97, 1.03] plus a
                  symmetric shear <= 1 %), random Gaussian displacements with
                  an rms length drawn in [0.05, 0.15] A.
* ``conv192``  -- 192-atom conventional t-LLZO cell, same perturbations.
* ``cubic192`` -- 192-atom c-LLZO cell (a = 12.97 A, seed 0), same perturbations.
* ``md96``     -- snapshots of a short Langevin MD (CHGNet, 900 K, 1 fs) of
                  the primitive cell.

About 15 % of each system's frames (at least one) go to data/validation, the
rest to data/training.  Everything is seeded (``--seed``, default 2024), so a
rerun gives the same structures; labels agree up to CHGNet/torch floating
point noise.  Also writes data/summary.json with the neighbour counts within
``--rcut`` used to choose ``sel`` in input.json.

Usage (from any directory; needs the project venv with chgnet installed):

    OMP_NUM_THREADS=1 python tests/data/test_model/make_dataset.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
from llzo_dp_tools import structures as L


def perturb(s: L.Structure, rng: np.random.Generator, strain: float = 0.03, shear: float = 0.01, disp=(0.05, 0.15)) -> L.Structure:
    """Random strain of the cell (atoms follow, fractional coords kept) plus
    random displacements with rms length drawn uniformly in ``disp`` (A)."""
    eps = np.diag(rng.uniform(-strain, strain, 3))
    off = rng.uniform(-shear, shear, 3)
    eps[0, 1] = eps[1, 0] = off[0]
    eps[0, 2] = eps[2, 0] = off[1]
    eps[1, 2] = eps[2, 1] = off[2]
    deform = np.eye(3) + eps
    cell = s.cell @ deform
    pos = s.frac @ cell
    amp = rng.uniform(*disp)
    pos = pos + rng.normal(0.0, amp / np.sqrt(3.0), pos.shape)
    return L.Structure(cell, pos, s.symbols, dict(s.info, disp_rms=amp))


class Labeler:
    def __init__(self):
        import torch

        torch.set_num_threads(1)
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator

        self.model = CHGNet.load(model_name="0.3.0", use_device="cpu", verbose=False)
        self.calc = CHGNetCalculator(model=self.model, use_device="cpu")
        import chgnet

        self.name = f"CHGNet {self.model.version} (chgnet {chgnet.__version__})"

    def atoms(self, s: L.Structure):
        from ase import Atoms

        a = Atoms(s.symbols, positions=s.positions, cell=s.cell, pbc=True)
        a.calc = self.calc
        return a

    def label(self, s: L.Structure):
        a = self.atoms(s)
        e = float(a.get_potential_energy())
        f = np.array(a.get_forces(), dtype=np.float64)
        # ASE stress convention: sigma = (1/V) dE/d(strain); deepmd virial = -sigma V.
        stress = np.array(a.get_stress(voigt=False), dtype=np.float64)
        vir = -stress * a.get_volume()
        return e, f, vir


def md_frames(lab: Labeler, s: L.Structure, rng_seed: int, steps: int, every: int, temp: float):
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    a = lab.atoms(s)
    MaxwellBoltzmannDistribution(a, temperature_K=temp, rng=np.random.default_rng(rng_seed))
    dyn = Langevin(a, 1.0 * units.fs, temperature_K=temp, friction=0.02, rng=np.random.default_rng(rng_seed + 1))
    frames = []
    for _ in range(steps // every):
        dyn.run(every)
        frames.append(L.Structure(np.array(a.cell), a.get_positions(), s.symbols, dict(s.info, md_temp=temp)))
    return frames


def neighbour_counts(s: L.Structure, rcut: float) -> np.ndarray:
    """max over atoms of the number of neighbours of each type within rcut -> (4,)"""
    inv = np.linalg.inv(s.cell)
    nrep = [int(np.ceil(rcut * np.linalg.norm(inv[:, k]))) for k in range(3)]
    shifts = np.array(
        [(i, j, k) for i in range(-nrep[0], nrep[0] + 1) for j in range(-nrep[1], nrep[1] + 1) for k in range(-nrep[2], nrep[2] + 1)],
        float,
    ) @ s.cell
    t = s.types
    best = np.zeros(len(L.TYPE_MAP), int)
    for i in range(len(s)):
        d = s.positions[None, :, :] + shifts[:, None, :] - s.positions[i]
        r = np.linalg.norm(d, axis=-1)
        mask = (r < rcut) & (r > 1e-8)
        cnt = np.bincount(np.broadcast_to(t, r.shape)[mask], minlength=len(L.TYPE_MAP))
        best = np.maximum(best, cnt)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--n-prim", type=int, default=72)
    ap.add_argument("--n-conv", type=int, default=8)
    ap.add_argument("--n-cubic", type=int, default=4)
    ap.add_argument("--md-steps", type=int, default=100)
    ap.add_argument("--md-every", type=int, default=10)
    ap.add_argument("--md-temp", type=float, default=900.0)
    ap.add_argument("--val-frac", type=float, default=0.15)
    ap.add_argument("--rcut", type=float, default=6.0)
    ap.add_argument("-o", "--out", default=os.path.join(HERE, "data"))
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    lab = Labeler()
    t0 = time.time()

    prim = L.primitive_tllzo("dft")
    conv = L.tetragonal_llzo("dft")
    cub = L.cubic_llzo(seed=0)
    systems = {
        "prim96": [perturb(prim, rng) for _ in range(args.n_prim)],
        "conv192": [perturb(conv, rng) for _ in range(args.n_conv)],
        "cubic192": [perturb(cub, rng) for _ in range(args.n_cubic)],
    }
    if args.md_steps > 0:
        systems["md96"] = md_frames(lab, prim, args.seed + 7, args.md_steps, args.md_every, args.md_temp)
    print(f"structures built ({time.time() - t0:.1f} s)", flush=True)

    summary = {"labels": lab.name, "seed": args.seed, "type_map": L.TYPE_MAP, "rcut": args.rcut, "systems": {}}
    sel = np.zeros(len(L.TYPE_MAP), int)
    for name, frames in systems.items():
        E, F, W = [], [], []
        for k, s in enumerate(frames):
            e, f, w = lab.label(s)
            E.append(e)
            F.append(f)
            W.append(w)
        E, F, W = np.array(E), np.array(F), np.array(W)
        for s in frames:
            sel = np.maximum(sel, neighbour_counts(s, args.rcut))
        n = len(frames)
        nval = max(1, int(round(args.val_frac * n))) if n > 1 else 0
        perm = np.random.default_rng(args.seed + len(name)).permutation(n)
        val, trn = np.sort(perm[:nval]), np.sort(perm[nval:])
        for part, idx in (("training", trn), ("validation", val)):
            if len(idx) == 0:
                continue
            L.write_deepmd_npy(
                os.path.join(args.out, part, name),
                [frames[i] for i in idx],
                energies=E[idx],
                forces=F[idx],
                virials=W[idx],
            )
        natoms = len(frames[0])
        summary["systems"][name] = {
            "natoms": natoms,
            "frames": n,
            "training": int(len(trn)),
            "validation": int(len(val)),
            "energy_per_atom_min": float(E.min() / natoms),
            "energy_per_atom_max": float(E.max() / natoms),
            "max_abs_force": float(np.abs(F).max()),
        }
        print(f"{name}: {n} frames, E/atom {E.min() / natoms:.4f}..{E.max() / natoms:.4f} eV, "
              f"max|F| {np.abs(F).max():.3f} eV/A ({time.time() - t0:.1f} s)", flush=True)
    summary["max_neighbours_within_rcut"] = dict(zip(L.TYPE_MAP, (int(x) for x in sel)))
    summary["total_frames"] = int(sum(v["frames"] for v in summary["systems"].values()))
    L._atomic_write_text(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary["max_neighbours_within_rcut"]), f"total {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
