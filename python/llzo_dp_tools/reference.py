"""The reference methods that can label the LLZO data: universal machine-learned potentials whose
weights ship inside their PyPI packages, run on CPU with one thread. They stand in for DFT labels;
they are not DFT (their errors against DFT-PBE: models/llzo/dft/). Labels: energy (eV), forces
(eV/Å), virial (eV, deepmd's sign).

- "chgnet": CHGNet 0.3.0 (PyPI `chgnet` 0.4.2), the reference of the model shipped on 2026-11-27;
- "sevennet": SevenNet-0 (PyPI `sevenn` 0.13.0, model "7net-0").
"""

from __future__ import annotations

import time

import numpy as np

from . import structures as L

REFERENCE = "the reference method (CHGNet 0.3.0, universal ML potential; not DFT)"
METHODS = ("chgnet", "sevennet")


def ase_calculator(method: str):
    """(ASE calculator, display name) of a reference method."""
    if method == "chgnet":
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator
        import chgnet

        model = CHGNet.load(model_name="0.3.0", use_device="cpu", verbose=False)
        return CHGNetCalculator(model=model, use_device="cpu"), f"CHGNet {model.version} (chgnet {chgnet.__version__})"
    if method == "sevennet":
        import warnings

        import sevenn
        from sevenn.calculator import SevenNetCalculator

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no tensor product accelerator": CPU only, expected
            calc = SevenNetCalculator("7net-0", device="cpu")
        return calc, f"SevenNet-0 (sevenn {sevenn.__version__})"
    raise ValueError(f"unknown reference method {method!r}; known: {', '.join(METHODS)}")


class Reference:
    def __init__(self, method: str = "chgnet"):
        import torch

        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process (a second Reference)
            pass
        self.method = method
        self.calc, self.name = ase_calculator(method)
        self.n_calls = 0
        self.t_calls = 0.0

    def atoms(self, s: L.Structure, pbc=True):
        from ase import Atoms

        a = Atoms(s.symbols, positions=s.positions, cell=s.cell, pbc=pbc)
        a.calc = self.calc
        return a

    @staticmethod
    def _read(a):
        e = float(a.get_potential_energy())
        f = np.array(a.get_forces(), dtype=np.float64)
        stress = np.array(a.get_stress(voigt=False), dtype=np.float64)
        vir = -stress * a.get_volume()  # ASE: sigma = (1/V) dE/d(strain); deepmd virial = -sigma V
        return e, f, vir

    def label(self, s: L.Structure):
        t = time.time()
        out = self._read(self.atoms(s))
        self.t_calls += time.time() - t
        self.n_calls += 1
        return out

    def relax(self, s: L.Structure, fmax=0.05, steps=60) -> L.Structure:
        from ase.optimize import FIRE

        a = self.atoms(s)
        FIRE(a, logfile=None).run(fmax=fmax, steps=steps)
        return L.Structure(np.array(a.cell), a.get_positions(), s.symbols, dict(s.info))

    def md(self, s: L.Structure, temps, seed: int, dt_fs: float = 2.0, every: int = 10, skip: int = 0):
        """Langevin NVT; ``temps`` is a list of per-step target temperatures.
        Returns the frames (and their labels, taken from the calculator at the
        sampled step: no extra cost) every ``every`` steps after ``skip`` steps."""
        from ase import units
        from ase.md.langevin import Langevin
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

        a = self.atoms(s)
        MaxwellBoltzmannDistribution(a, temperature_K=temps[0], rng=np.random.default_rng(seed))
        dyn = Langevin(a, dt_fs * units.fs, temperature_K=temps[0], friction=0.02, rng=np.random.default_rng(seed + 1))
        frames, labels = [], []
        t = time.time()
        for k, temp in enumerate(temps, start=1):
            dyn.set_temperature(temperature_K=temp)
            dyn.run(1)
            if k > skip and (k - skip) % every == 0:
                frames.append(L.Structure(np.array(a.cell), a.get_positions(), s.symbols, dict(s.info, md_temp=float(temp), md_step=k)))
                labels.append(self._read(a))
        self.t_calls += time.time() - t
        self.n_calls += len(temps)
        return frames, labels
