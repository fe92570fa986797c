"""The simple compounds of the LLZO training set (Li2O, La2O3, ZrO2, La2Zr2O7, bcc Li), built with
ase.spacegroup.crystal from literature Wyckoff data: small cells and ~100-atom supercells."""

from __future__ import annotations

import numpy as np

from . import structures as L


# Li2ZrO3 (C2/c) is left out: no reliable site coordinates were at hand offline; a guessed set
# relaxed with the reference method still had 1.44 A contacts and a 2 eV/atom energy spread.
COMPOUNDS = {
    # antifluorite Fm-3m, a = 4.61 A (Li2O, room temperature)
    "Li2O": dict(symbols=["Li", "O"], basis=[(0.25, 0.25, 0.25), (0, 0, 0)], spacegroup=225,
                 cellpar=[4.61, 4.61, 4.61, 90, 90, 90], size=(1, 1, 1), primitive=False),
    # A-type La2O3, P-3m1, a = 3.938, c = 6.136 A; La 2d z=0.2467, O 2d z=0.6470, O 1a
    "La2O3": dict(symbols=["La", "O", "O"], basis=[(1 / 3, 2 / 3, 0.2467), (1 / 3, 2 / 3, 0.6470), (0, 0, 0)],
                  spacegroup=164, cellpar=[3.938, 3.938, 6.136, 90, 90, 120], size=(2, 2, 1), primitive=False),
    # monoclinic ZrO2 (baddeleyite), P2_1/c, a=5.150 b=5.212 c=5.317 beta=99.23 (Howard et al. 1988)
    "ZrO2": dict(symbols=["Zr", "O", "O"], basis=[(0.2754, 0.0395, 0.2083), (0.0700, 0.3317, 0.3447), (0.4496, 0.7569, 0.4792)],
                 spacegroup=14, cellpar=[5.150, 5.212, 5.317, 90, 99.23, 90], size=(1, 1, 1), primitive=False),
    # pyrochlore La2Zr2O7, Fd-3m origin choice 2, a = 10.80 A, O 48f x = 0.333
    "La2Zr2O7": dict(symbols=["La", "Zr", "O", "O"], basis=[(0.5, 0.5, 0.5), (0, 0, 0), (0.333, 0.125, 0.125), (0.375, 0.375, 0.375)],
                     spacegroup=227, setting=2, cellpar=[10.80, 10.80, 10.80, 90, 90, 90], size=(1, 1, 1), primitive=True),
    # bcc Li, a = 3.51 A
    "Li": dict(symbols=["Li"], basis=[(0, 0, 0)], spacegroup=229, cellpar=[3.51, 3.51, 3.51, 90, 90, 90],
               size=(2, 2, 2), primitive=False),
}


# Supercells of 88-128 atoms, the size of the LLZO crystal cells (the crys_big_* systems): they
# tell per-atom noise (which N atoms average down) from cell-wide errors, and give the compounds
# the weight of an LLZO cell in the energy loss (~ N x per-atom error^2).
BIG = {"Li2O": dict(size=(2, 2, 2)), "La2O3": dict(size=(3, 3, 2)), "ZrO2": dict(size=(2, 2, 2)),
       "La2Zr2O7": dict(primitive=False, size=(1, 1, 1)), "Li": dict(size=(4, 4, 4))}


def compound(name: str, cells: str = "small") -> L.Structure:
    from ase.spacegroup import crystal

    d = dict(COMPOUNDS[name], **(BIG[name] if cells == "big" else {}))
    a = crystal(d["symbols"], basis=d["basis"], spacegroup=d["spacegroup"], cellpar=d["cellpar"],
                setting=d.get("setting", 1), primitive_cell=d["primitive"])
    a = a.repeat(d["size"])
    s = L.Structure(np.array(a.cell), a.get_positions(), a.get_chemical_symbols(), {"name": name})
    return s.sorted_by_type()


def min_distance(s: L.Structure) -> float:
    return L.shortest_distance(s)
