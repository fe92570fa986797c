"""llzo_dp against DeePMD-kit's Python DeepPot on the same frames: energy, forces,
global virial, per-atom energy and per-atom virial within 1e-10 (eV, eV/Å).

Both evaluators: `backend torch` (the TorchScript graph, per-atom virial included) and
`backend native` (the Rust code; a run without per-atom virial, which would send the step to
TorchScript), the latter with its nets (`tabulate no`, 1e-10) and with the tables it builds
from them by default (`tables`: the interpolation error bounded at 1e-9). A hybrid se_e2_a + se_e3 model runs natively too (`backend auto` picks the
native evaluator for it), except in steps where DeePMD-kit keeps only the nearest neighbors
of a type: those go through TorchScript."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import NKTV2P_METAL, perturbed, read_dump, tllzo, write_data
from checkout import HYBRID_MODEL, TEST_MODEL, lammps

TOL = 1e-10
# the native evaluator's default embedding tables (tabulate.rs): measured up to 1.4e-10 eV on
# a 384-atom virial of 290 eV
TOL_TABLES = 1e-9
OPTIONS = {"torch": "backend torch", "native": "backend native tabulate no", "tables": "backend native"}

SCRIPT = """
units metal
atom_style atomic
boundary {boundary}
read_data system.data
pair_style llzo_dp {model} {options}
pair_coeff * * Li La Zr O
compute pe all pe/atom
{virial_computes}
dump d all custom 1 dump.txt id type x y z fx fy fz c_pe {virial_columns}
dump_modify d format float %.17g sort id
thermo_style custom step pe vol pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
run 0
"""


VIRIAL_COMPUTES = "compute sv all stress/atom NULL virial\ncompute cv all centroid/stress/atom NULL virial"


@pytest.fixture(params=["torch", "native", "tables"])
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def deeppot():
    from deepmd.infer import DeepPot

    return DeepPot(str(TEST_MODEL))


def run_both(tmp_path, deeppot, cell, pos, types, periodic=True, model=TEST_MODEL, backend="torch",
             fparam=(), aparam=()):
    """`fparam`, `aparam`: the pair style's keywords and DeepPot's arguments (`aparam` the same
    for every atom)."""
    write_data(tmp_path / "system.data", cell, pos, types)
    boundary = "p p p" if periodic else "f f f"
    atom_virial = backend == "torch"
    options = OPTIONS.get(backend, f"backend {backend}")
    for key, values in (("fparam", fparam), ("aparam", aparam)):
        options += f" {key} " + " ".join(repr(float(v)) for v in values) if len(values) else ""
    r = lammps(tmp_path, SCRIPT.format(boundary=boundary, model=model, options=options,
                                       virial_computes=VIRIAL_COMPUTES if atom_virial else "",
                                       virial_columns="c_sv[*] c_cv[*]" if atom_virial else ""))
    assert r.returncode == 0, r.output[-3000:]
    if backend != "auto":  # auto's choice depends on the model
        assert ("| native evaluator for" in r.output) == (backend != "torch")
    d = read_dump(tmp_path / "dump.txt")[0]
    x = np.stack([d["x"], d["y"], d["z"]], axis=1)
    # LAMMPS may wrap atoms into the box; DeepPot gets the very coordinates LAMMPS used.
    params = {}
    if len(fparam):
        params["fparam"] = np.asarray(fparam, dtype=float)
    if len(aparam):
        params["aparam"] = np.tile(np.asarray(aparam, dtype=float), len(d["type"]))
    e, f, v, ae, av = deeppot.eval(x.reshape(1, -1), cell.reshape(1, 9) if periodic else None,
                                   (d["type"].astype(int) - 1).tolist(), atomic=True, **params)
    return r, d, (e.item(), f.reshape(-1, 3), v.reshape(9), ae.reshape(-1), av.reshape(-1, 9))


def check_against_deeppot(r, d, ref):
    e, f, v, ae, av = ref
    tol = TOL_TABLES if "embedding tabulated at load" in r.output else TOL
    thermo = r.runs[0]
    assert abs(thermo["PotEng"][0] - e) < tol
    lf = np.stack([d["fx"], d["fy"], d["fz"]], axis=1)
    assert np.abs(lf - f).max() < tol
    assert np.abs(d["c_pe"] - ae).max() < tol
    # pressure tensor (no kinetic part at T=0) -> virial in eV
    vol = thermo["Volume"][0]
    lammps_virial = np.array([thermo[k][0] for k in ("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz")]) * vol / NKTV2P_METAL
    deepmd_order = v[[0, 4, 8, 3, 6, 7]]
    assert np.abs(lammps_virial - deepmd_order).max() < tol
    assert abs(d["c_pe"].sum() - e) < 1e-9
    if "c_sv[1]" not in d:  # no per-atom virial asked for (the native evaluator's runs)
        print(f"\nvs DeepPot (no per-atom virial): |dE| {abs(thermo['PotEng'][0] - e):.1e} eV, max |dF| {np.abs(lf - f).max():.1e} eV/Å, "
              f"max |dW| {np.abs(lammps_virial - deepmd_order).max():.1e} eV, max |de_i| {np.abs(d['c_pe'] - ae).max():.1e}")
        return
    # stress/atom = -virial * nktv2p (LAMMPS convention), order xx yy zz xy xz yz
    sv = -np.stack([d[f"c_sv[{k}]"] for k in range(1, 7)], axis=1) / NKTV2P_METAL
    assert np.abs(sv - av[:, [0, 4, 8, 3, 6, 7]]).max() < tol
    cv = -np.stack([d[f"c_cv[{k}]"] for k in range(1, 10)], axis=1) / NKTV2P_METAL
    assert np.abs(cv - av[:, [0, 4, 8, 3, 6, 7, 1, 2, 5]]).max() < tol
    print(f"\nvs DeepPot: |dE| {abs(thermo['PotEng'][0] - e):.1e} eV, max |dF| {np.abs(lf - f).max():.1e} eV/Å, "
          f"max |dW| {np.abs(lammps_virial - deepmd_order).max():.1e} eV, max |de_i| {np.abs(d['c_pe'] - ae).max():.1e}, "
          f"max |dw_i| {np.abs(cv - av[:, [0, 4, 8, 3, 6, 7, 1, 2, 5]]).max():.1e} eV")


def test_orthogonal_cell(tmp_path, deeppot, backend):
    cell, pos, types = perturbed(*tllzo(), seed=1, sigma=0.1)
    r, d, ref = run_both(tmp_path, deeppot, cell, pos, types, backend=backend)
    check_against_deeppot(r, d, ref)


def test_triclinic_strained_cell(tmp_path, deeppot, backend):
    cell, pos, types = perturbed(*tllzo(), seed=2, sigma=0.1, strain=0.02, tilt=(0.9, -0.6, 0.4))
    r, d, ref = run_both(tmp_path, deeppot, cell, pos, types, backend=backend)
    check_against_deeppot(r, d, ref)


def test_supercell_2x1x1(tmp_path, deeppot, backend):
    cell, pos, types = perturbed(*tllzo(2, 1, 1), seed=3, sigma=0.12)
    r, d, ref = run_both(tmp_path, deeppot, cell, pos, types, backend=backend)
    check_against_deeppot(r, d, ref)


def test_non_periodic_cluster(tmp_path, deeppot, backend):
    """A cluster cut from the crystal in a fixed-boundary box; DeepPot without a cell."""
    cell, pos, types = tllzo()
    keep = np.linalg.norm(pos - pos.mean(axis=0), axis=1) < 6.5
    pos, types = pos[keep] + 10.0, types[keep]
    box = np.diag([pos.max() + 10.0] * 3)
    r, d, ref = run_both(tmp_path, deeppot, box, pos, types, periodic=False, backend=backend)
    check_against_deeppot(r, d, ref)


@pytest.mark.parametrize("hybrid_backend", ["torch", "auto", "native"])
def test_hybrid_descriptor_model(tmp_path, hybrid_backend):
    """se_e2_a + se_e3 (three-body, first shell): natively (auto, native) and as a graph."""
    from deepmd.infer import DeepPot

    cell, pos, types = perturbed(*tllzo(), seed=4, sigma=0.1, strain=-0.01, tilt=(0.5, 0.7, -0.3))
    r, d, ref = run_both(tmp_path, DeepPot(str(HYBRID_MODEL)), cell, pos, types, model=HYBRID_MODEL,
                         backend=hybrid_backend)
    if hybrid_backend != "torch":
        assert "native evaluator for hybrid se_e2_a + se_e3" in r.output
    check_against_deeppot(r, d, ref)


def shell(center_type, shell_type, radii, seed):
    """A cluster: one atom and len(radii) atoms around it at the given distances, spread
    over the sphere (Fibonacci directions, randomly turned), in a big non-periodic box."""
    rng = np.random.default_rng(seed)
    n = len(radii)
    k = np.arange(n) + 0.5
    phi, z = np.pi * (1 + 5**0.5) * k, 1 - 2 * k / n
    dirs = np.stack([np.sqrt(1 - z * z) * np.cos(phi), np.sqrt(1 - z * z) * np.sin(phi), z], axis=1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    pos = np.vstack([np.zeros(3), (dirs @ q) * np.asarray(radii)[:, None]]) + 15.0
    types = np.array([center_type] + [shell_type] * n)
    return np.diag([30.0] * 3), pos, types


@pytest.mark.parametrize("overflow", ["se_e3", "se_e2_a"])
def test_hybrid_nearest_selection_falls_back(tmp_path, overflow):
    """More neighbors of a type than sel: the hybrid's graph keeps the nearest; the native
    evaluator hands that step to TorchScript, so the numbers are DeePMD-kit's all the same.
    se_e3: a La with 17 O inside 3.2 Å (se_e3 sel 16); se_e2_a: a Li with 46 Li inside 6 Å
    (se_e2_a sel 43)."""
    from deepmd.infer import DeepPot

    if overflow == "se_e3":
        cell, pos, types = shell(2, 4, np.linspace(2.3, 3.0, 17), seed=21)
    else:
        cell, pos, types = shell(1, 1, np.linspace(3.6, 5.8, 46), seed=22)
    r, d, ref = run_both(tmp_path, DeepPot(str(HYBRID_MODEL)), cell, pos, types, periodic=False,
                         model=HYBRID_MODEL, backend="native")
    check_against_deeppot(r, d, ref)
