"""Checks the generated GPAW La setup (llzo_dp_tools.dft.make_la_setup) against published PBE and
experimental figures for A-type La2O3 (P-3m1, 5 atoms), the compound whose La-O bonds are LLZO's.

1. Stress at the experimental cell for a cutoff series (shows where the La-O stress converges).
2. The cell and positions relaxed under the crystal's symmetry at the converged cutoff.

References: experiment a = 3.9373, c = 6.1299 A (Aldebert & Traverse 1979, ICSD 100204);
PBE (Materials Project mp-1968, VASP PAW with 4f): density 6.52 g/cm^3 -> V = 83.0 A^3 per
formula unit (the density's last digit: +-0.15 %). Writes la_setup_validation.json and .md here.

    python validate_la_setup.py [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from llzo_dp_tools import dft
from llzo_dp_tools import structures as L

HERE = Path(__file__).resolve().parent
EXP = {"a": 3.9373, "c": 6.1299}
MP_PBE_DENSITY = 6.52     # g/cm^3, mp-1968
M_LA2O3 = 2 * 138.90547 + 3 * 15.999  # g/mol
AVOGADRO = 6.02214076e23
KPTS = (8, 8, 5)          # 0.2 A^-1 k-spacing (2 pi included) on the 3.94 x 6.13 A cell
CUTOFFS = (500, 700, 900)
GPA = 160.21766


def la2o3(a: float, c: float) -> L.Structure:
    from ase.spacegroup import crystal

    at = crystal(["La", "O", "O"], basis=[(1 / 3, 2 / 3, 0.2467), (1 / 3, 2 / 3, 0.6470), (0, 0, 0)],
                 spacegroup=164, cellpar=[a, a, c, 90, 90, 120])
    return L.Structure(np.array(at.cell), at.get_positions(), at.get_chemical_symbols())


def hex_volume(a: float, c: float) -> float:
    return np.sqrt(3) / 2 * a * a * c


def write_whole(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    exp_cell = la2o3(EXP["a"], EXP["c"])
    series = {}
    for ecut, r in zip(CUTOFFS, [dft.label([exp_cell], dft.DftSettings(ecut=e, kpts=KPTS, point_group=True),
                                           workers=1)[0] for e in CUTOFFS]):
        s = r.stress * GPA
        series[ecut] = {"energy_eV": r.energy, "sxx_GPa": s[0, 0], "szz_GPa": s[2, 2],
                        "pressure_GPa": -np.trace(s) / 3, "wall_s": r.wall_s}
    ecut = CUTOFFS[-1]
    relaxed = dft.label([exp_cell], dft.DftSettings(ecut=ecut, kpts=KPTS, point_group=True),
                        task="relax_cell", workers=1)[0]
    cell = relaxed.extra["cell"]
    a = float(np.linalg.norm(cell[0]))
    c = float(np.linalg.norm(cell[2]))
    v_mp = M_LA2O3 / (MP_PBE_DENSITY * AVOGADRO) * 1e24
    out = {"cutoff_series_at_experimental_cell": series, "relaxed_at_ecut_eV": ecut, "kpts": KPTS,
           "relax_steps": int(relaxed.extra["relax_steps"]),
           "a": a, "c": c, "c_over_a": c / a, "volume": hex_volume(a, c),
           "experiment": dict(EXP, volume=hex_volume(EXP["a"], EXP["c"])),
           "mp_pbe_volume": v_mp,
           "volume_vs_mp_pbe_percent": 100 * (hex_volume(a, c) / v_mp - 1),
           "volume_vs_experiment_percent": 100 * (hex_volume(a, c) / hex_volume(EXP["a"], EXP["c"]) - 1)}
    write_whole(HERE / "la_setup_validation.json", json.dumps(out, indent=1, default=float) + "\n")
    print(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
