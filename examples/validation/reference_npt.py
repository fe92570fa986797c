#!/usr/bin/env python3
"""Does the reference method itself keep t-LLZO tetragonal at a given temperature?

NPT of the 192-atom t-LLZO cell (llzo_dp_tools/data/tllzo_1x1x1.data) with the reference
method (CHGNet 0.3.0, not DFT) through ASE's anisotropic Berendsen barostat, to compare the
cell shape with DPMD of the same cell (tests/test_regression.py's NPT protocol). Writes
results/reference_npt_<T>K.csv (step, T, Lx, Ly, Lz; rewritten whole every 10 steps, so an
interrupted run keeps what it has) and prints the shape measures:
c/a (z against x, y) and the shortest edge over the mean of the two others, per frame
(orientation-free: a tetragonal cell whose short axis turned still reads ~0.95).

    python examples/validation/reference_npt.py [--temp 1500] [--steps 500]
    python examples/validation/reference_npt.py --model models/llzo/llzo_dp_model.pth   # the same with a DP model

With --model the same protocol runs with a DeePMD-kit model (its ASE calculator), so the two
cell shapes come from the same integrator, barostat and seed.
"""

import argparse
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def shape(L):
    L = np.asarray(L)
    ca = L[:, 2] / L[:, :2].mean(1)
    s = np.sort(L, 1)
    return ca, s[:, 0] / s[:, 1:].mean(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--temp", type=float, default=1500.0)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--model", default=None, help="a DeePMD-kit .pth instead of the reference method")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from ase import Atoms, units
    from ase.md.nptberendsen import Inhomogeneous_NPTBerendsen
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    from llzo_dp_tools.lammps import tllzo

    cell, pos, types = tllzo()
    atoms = Atoms([["Li", "La", "Zr", "O"][t - 1] for t in types], positions=pos, cell=cell, pbc=True)
    if a.model:
        from deepmd.calculator import DP

        atoms.calc = DP(model=a.model)
    else:
        atoms.calc = CHGNetCalculator(model=CHGNet.load(model_name="0.3.0", use_device="cpu", verbose=False), use_device="cpu")
    MaxwellBoltzmannDistribution(atoms, temperature_K=a.temp, rng=np.random.default_rng(a.seed))
    # Berendsen coupling times of the order of the LAMMPS run's Tdamp 0.1 ps / Pdamp 0.2 ps
    md = Inhomogeneous_NPTBerendsen(atoms, timestep=1.0 * units.fs, temperature_K=a.temp, taut=100 * units.fs,
                                    pressure_au=0.0, taup=200 * units.fs, compressibility_au=4.6e-5 / units.bar)
    tag = "reference" if not a.model else os.path.splitext(os.path.basename(a.model))[0]
    out = os.path.join(HERE, "results", f"{tag}_npt_{a.temp:.0f}K.csv")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    rows = []

    def record():
        L = atoms.cell.lengths()
        rows.append((md.nsteps, atoms.get_temperature(), *L))
        if len(rows) % 10 == 0:
            tmp = out + ".tmp"
            with open(tmp, "w") as fh:
                fh.write("step,T,Lx,Ly,Lz\n")
                fh.writelines(",".join(f"{v:.6f}" for v in r) + "\n" for r in rows)
            os.replace(tmp, out)

    md.attach(record, interval=1)
    t0 = time.time()
    md.run(a.steps)
    L = np.array([r[2:] for r in rows])
    ca, short = shape(L)
    h = len(L) // 2
    print(f"{tag} NPT {a.temp:.0f} K, 192 atoms, {a.steps} steps ({time.time() - t0:.0f} s): "
          f"c/a last half {ca[h:].mean():.4f}, shortest/others last half {short[h:].mean():.4f}, "
          f"T last half {np.mean([r[1] for r in rows[h:]]):.0f} K -> {out}")


if __name__ == "__main__":
    main()
