"""The in-run coverage monitor: identical coverage, per-atom values and dumped frames on
1 and 2 MPI ranks; dumped frames readable as deepmd/npy; a restarted run appends to the
CSV without repeating steps; a reference made for another cutoff is refused."""

import subprocess

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, read_dump, tllzo, write_data
from checkout import ROOT, TEST_MODEL, lammps

CLI = ROOT / "target" / "release" / "llzo-dp"

SCRIPT = """
units metal
atom_style atomic
{grid}
read_data {data}
{reset}
pair_style llzo_dp {model} coverage {ref} coverage_every 5 coverage_threshold 0.995 coverage_min_gap 10 coverage_max_frames 3 coverage_dir frames
pair_coeff * * Li La Zr O
compute cov all pair llzo_dp
fix pc all pair 5 llzo_dp coverage 0
velocity all create 1500 77 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
thermo_style custom step pe c_cov[1] c_cov[2] c_cov[3] c_cov[4] c_cov[5]
thermo_modify format float %.17g
thermo 5
dump d all custom 5 dump.cov id f_pc
dump_modify d format float %.17g sort id
run {steps}
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("covref")
    out = subprocess.run([str(CLI), "coverage", "build", "--model", str(TEST_MODEL), "-o", str(d / "ref.json"),
                          str(ROOT / "tests/data/test_model/data/training")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    write_data(d / "system.data", *perturbed(*tllzo(2, 1, 1), seed=71, sigma=0.05))
    return d


def run(workdir, reference, np_ranks=1, grid="", steps=30, reset=""):
    r = lammps(workdir, SCRIPT.format(grid=grid, data=reference / "system.data", model=TEST_MODEL,
                                      ref=reference / "ref.json", steps=steps, reset=reset), np_ranks=np_ranks)
    assert r.returncode == 0, r.output[-3000:]
    return r


def test_one_and_two_ranks_agree(tmp_path, reference):
    a = run(tmp_path / "np1", reference)
    b = run(tmp_path / "np2", reference, np_ranks=2, grid="processors 2 1 1")
    csv_a = (tmp_path / "np1/frames/coverage.csv").read_text()
    csv_b = (tmp_path / "np2/frames/coverage.csv").read_text()
    rows = [l.split(",") for l in csv_a.splitlines()[1:]]
    assert [int(r[0]) for r in rows] == list(range(0, 31, 5))
    dumped = [int(r[0]) for r in rows if r[-1] == "1"]
    print(f"\ncoverage by step: {[(r[0], r[1]) for r in rows]}; dumped {dumped}")
    assert dumped, "expected frames below the 0.995 threshold at 1500 K"
    # coverage per element: identical up to the last printed digit
    assert csv_a == csv_b
    for ta, tb in zip(a.runs[0].values(), b.runs[0].values()):
        np.testing.assert_allclose(ta, tb, rtol=1e-12)
    for fa, fb in zip(read_dump(tmp_path / "np1/dump.cov"), read_dump(tmp_path / "np2/dump.cov")):
        assert np.array_equal(fa["f_pc"], fb["f_pc"])
    for step in dumped:
        name = f"step_{step:09d}"
        for ext in ("xyz", "data"):
            assert (tmp_path / f"np1/frames/{name}.{ext}").read_text() == (tmp_path / f"np2/frames/{name}.{ext}").read_text()
        ca = np.load(tmp_path / f"np1/frames/{name}.npy/set.000/coord.npy")
        cb = np.load(tmp_path / f"np2/frames/{name}.npy/set.000/coord.npy")
        # same frame; positions differ only by the MPI summation order of forces (~1e-12 Å)
        assert ca.shape == (1, 384 * 3) and np.abs(ca - cb).max() < 1e-9
        import dpdata

        s = dpdata.System(str(tmp_path / f"np1/frames/{name}.npy"), fmt="deepmd/npy")
        assert s.get_natoms() == 384 and s["atom_names"] == ["Li", "La", "Zr", "O"]


def test_restart_appends_without_repeating_steps(tmp_path, reference):
    run(tmp_path, reference, steps=20)
    run(tmp_path, reference, steps=20, reset="reset_timestep 10")
    steps = [int(l.split(",")[0]) for l in (tmp_path / "frames/coverage.csv").read_text().splitlines()[1:]]
    assert steps == list(range(0, 31, 5))


def test_reference_for_another_cutoff_is_refused(tmp_path, reference):
    out = subprocess.run([str(CLI), "coverage", "build", "--type-map", "Li,La,Zr,O", "--rcut", "5.0", "-o",
                          str(tmp_path / "ref5.json"), str(ROOT / "tests/data/test_model/data/validation")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    r = lammps(tmp_path / "run", f"""units metal
atom_style atomic
read_data {reference / 'system.data'}
pair_style llzo_dp {TEST_MODEL} coverage {tmp_path / 'ref5.json'}
pair_coeff * * Li La Zr O
run 0
""")
    assert r.returncode > 0
    errors = r.errors()
    assert any("cutoff" in e or "rcut" in e for e in errors), errors
