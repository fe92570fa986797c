"""One DFT-PBE calculation with GPAW, one frame per process: the worker behind llzo_dp_tools.dft.

Runs under Debian's Python (/usr/bin/python3 with the `gpaw` and `gpaw-data` packages), not the
project's venv, so it imports nothing of the project: numpy, ase and gpaw only.

    /usr/bin/python3 gpaw_worker.py job.json result.npz

job.json: {"cell": 3x3 (A), "positions": Nx3 (A), "symbols": [...], "settings": {...},
"task": "single" | "relax_cell"}. The result is written whole (temporary file, then rename):
energy (eV), forces (eV/A), stress (eV/A^3, ASE's sign: positive under tension), for
"relax_cell" also the relaxed cell and positions, plus the SCF iteration count and the wall time.
The plane-wave basis is what makes stress available (GPAW has no LCAO stress).
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def calculator(settings: dict, txt: str):
    from gpaw import GPAW, PW

    kpts = settings.get("kpts")
    if kpts is None:
        kpts = {"size": (1, 1, 1), "gamma": True}
    return GPAW(
        mode=PW(settings["ecut"]),
        xc=settings.get("xc", "PBE"),
        kpts=kpts,
        # Gaussian smearing is Methfessel-Paxton of order 0 (the paper's ISMEAR = 0 analogue).
        occupations={"name": "methfessel-paxton", "order": 0, "width": settings.get("smearing", 0.1)},
        convergence={"energy": settings.get("scf_energy", 1e-6), "density": settings.get("scf_density", 1e-5),
                     "eigenstates": 4e-8},
        maxiter=settings.get("maxiter", 300),
        # Point-group symmetry only for symmetric crystals (La2O3 check); displaced frames have none.
        symmetry={"point_group": bool(settings.get("point_group", False)), "time_reversal": True},
        txt=txt,
    )


def relax_cell(atoms, settings: dict) -> int:
    """Cell and positions relaxed under the crystal's own symmetry until forces < fmax and
    stresses < smax; returns the optimiser's step count."""
    from ase.constraints import ExpCellFilter
    from ase.spacegroup.symmetrize import FixSymmetry
    from ase.optimize import BFGS

    atoms.set_constraint(FixSymmetry(atoms, symprec=1e-3))
    opt = BFGS(ExpCellFilter(atoms), logfile=None)
    smax = settings.get("smax", 0.002)  # eV/A^3 = 0.3 GPa
    fmax = settings.get("fmax", 0.01)
    for step in range(settings.get("relax_steps", 60)):
        f = atoms.get_forces()
        s = atoms.get_stress()
        if np.abs(f).max() < fmax and np.abs(s).max() < smax:
            return step
        opt.step()
    return -1


def main(job_path: str, out_path: str) -> int:
    from ase import Atoms
    import gpaw

    job = json.loads(open(job_path).read())
    settings = job["settings"]
    atoms = Atoms(job["symbols"], positions=np.array(job["positions"]), cell=np.array(job["cell"]), pbc=True)
    atoms.calc = calculator(settings, txt=out_path + ".txt")
    t0 = time.time()
    extra = {}
    if job.get("task", "single") == "relax_cell":
        extra["relax_steps"] = relax_cell(atoms, settings)
        atoms.set_constraint()
        extra["cell"] = np.array(atoms.cell)
        extra["positions"] = atoms.get_positions()
    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    stress = atoms.get_stress(voigt=False)
    tmp = out_path + ".tmp.npz"
    np.savez(tmp, energy=energy, forces=forces, stress=stress, wall_s=time.time() - t0,
             scf_iterations=getattr(getattr(atoms.calc, "scf", None), "niter", -1),
             gpaw_version=gpaw.__version__, **extra)
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
