"""0 K lattice of t-LLZO, and energy curves, for any method with an ASE calculator: the reference
methods (reference.py) and frozen DP models (DeePMD-kit's ASE calculator).

The 192-atom conventional cell is relaxed with its I4_1/acd symmetry kept (ASE FixSymmetry and
FrechetCellFilter) until forces are below 0.003 eV/A and stresses below 0.004 GPa x 10: c/a at the
1e-4 level needs the tight force criterion (0.02 eV/A moves c/a by ~1e-3).

    python -m llzo_dp_tools.lattice chgnet sevennet models/llzo/llzo_dp_model.pth
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import structures as L

FMAX = 0.003        # eV/A
FORMULA_UNITS = 8   # Li56La24Zr16O96 per conventional cell


def calculator(method: str):
    """ASE calculator and display name: 'chgnet', 'sevennet' or the path of a frozen DP model."""
    if method.endswith((".pth", ".pb")):
        from deepmd.calculator import DP

        return DP(model=method), f"DP {Path(method).name}"
    from .reference import ase_calculator

    return ase_calculator(method)


def ase_atoms(s: L.Structure, calc):
    from ase import Atoms

    a = Atoms(s.symbols, positions=s.positions, cell=s.cell, pbc=True)
    a.calc = calc
    return a


def relax_symmetric(s: L.Structure, calc, fmax: float = FMAX, steps: int = 3000) -> L.Structure:
    """Cell and positions relaxed with the structure's space group kept."""
    return _relax(s, calc, fmax, steps, cell=True)


def relax_positions(s: L.Structure, calc, fmax: float = FMAX, steps: int = 3000) -> L.Structure:
    """Positions relaxed in the fixed cell with the structure's space group kept (relaxed-ion)."""
    return _relax(s, calc, fmax, steps, cell=False)


def _relax(s: L.Structure, calc, fmax: float, steps: int, cell: bool) -> L.Structure:
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    a = ase_atoms(s, calc)
    a.set_constraint(FixSymmetry(a, symprec=1e-3))
    opt = BFGS(FrechetCellFilter(a) if cell else a, logfile=None)
    if not opt.run(fmax=fmax, steps=steps):
        raise RuntimeError(f"relaxation not converged to {fmax} eV/A in {steps} steps")
    a.set_constraint()
    # a fixed cell is returned as given, bit for bit (ASE's copy of it may round)
    return L.Structure(np.array(a.cell) if cell else s.cell.copy(), a.get_positions(), s.symbols, dict(s.info))


def tllzo_lattice(calc) -> dict:
    """a, c, c/a, volume per formula unit and residual stress of relaxed t-LLZO (conventional)."""
    r = relax_symmetric(L.tetragonal_llzo("exp"), calc)
    a_len = np.linalg.norm(r.cell, axis=1)
    a, c = float((a_len[0] + a_len[1]) / 2), float(a_len[2])
    stress = ase_atoms(r, calc).get_stress() * 160.21766208
    return {"a": a, "c": c, "c_over_a": c / a, "volume_per_fu": r.volume / FORMULA_UNITS,
            "max_residual_stress_GPa": float(np.abs(stress).max()), "structure": r}


def energies(frames: list[L.Structure], calc) -> np.ndarray:
    """Energy per atom (eV) of each frame as it is."""
    return np.array([ase_atoms(s, calc).get_potential_energy() / len(s) for s in frames])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m llzo_dp_tools.lattice", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("methods", nargs="+", help="chgnet, sevennet, or a frozen DP model path")
    args = p.parse_args(argv)
    for m in args.methods:
        calc, name = calculator(m)
        lat = tllzo_lattice(calc)
        lat.pop("structure")
        print(json.dumps({"method": name, **lat}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
