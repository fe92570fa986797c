"""Faults that used to lose or mislabel data without a word, each against the file or
message it must produce: a new run over an old coverage record; restarts of
model_devi.out; a frame write that fails (the CSV row must follow the frame); the
periodicity of dumped frames; non-finite coordinates; neighbours beyond sel; damaged or
mismatched coverage references; out_file with one model; pair_coeff maps."""

import subprocess

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, tllzo, write_data
from checkout import ROOT, TEST_MODEL, lammps

CLI = ROOT / "target" / "release" / "llzo-dp"
MODEL_B = ROOT / "tests" / "data" / "test_model" / "test_model_b.pth"
TRAINING = ROOT / "tests" / "data" / "test_model" / "data" / "training"

MONITOR = """
units metal
atom_style atomic
{boundary}
read_data {data}
{reset}
pair_style llzo_dp {model} coverage {ref} coverage_every {every} coverage_threshold 1.0 coverage_min_gap 0 coverage_max_frames 1000 coverage_dir frames {formats}
pair_coeff * * Li La Zr O
velocity all create 1200 5 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
{runs}
"""


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults")
    out = subprocess.run([str(CLI), "coverage", "build", "--model", str(TEST_MODEL), "-o", str(d / "ref.json"),
                          str(TRAINING)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    cell, pos, types = perturbed(*tllzo(), seed=17, sigma=0.05)
    write_data(d / "system.data", cell, pos, types)
    # the same atoms inside the box, for boundaries that do not wrap them (f, s)
    frac = np.linalg.solve(cell.T, pos.T).T % 1.0
    write_data(d / "inside.data", cell, frac @ cell, types)
    return d


def monitor_run(workdir, ref, runs="run 10", reset="", boundary="", every=5, formats="", reference=None):
    data = ref / ("inside.data" if boundary else "system.data")
    script = MONITOR.format(boundary=boundary, data=data, reset=reset, model=TEST_MODEL,
                            ref=reference or ref / "ref.json", every=every, formats=formats, runs=runs)
    return lammps(workdir, script)


def csv_rows(workdir):
    lines = (workdir / "frames" / "coverage.csv").read_text().splitlines()[1:]
    return [(int(l.split(",")[0]), l.split(",")[-1]) for l in lines]


def test_new_run_over_an_old_coverage_record_is_refused(tmp_path, ref):
    # a second `run` in the same process continues the record
    r = monitor_run(tmp_path, ref, runs="run 10\nrun 10")
    assert r.returncode == 0, r.output[-3000:]
    assert [s for s, _ in csv_rows(tmp_path)] == [0, 5, 10, 15, 20]
    # a new process starting again at step 0 in the same directory: an ERROR naming the keyword
    # (it used to record no row and dump no frame, every step being "already there")
    r = monitor_run(tmp_path, ref, runs="run 10")
    assert r.returncode != 0, "a new run over an old coverage record was accepted"
    assert any("coverage_dir" in e and "steps 0 to 20" in e for e in r.errors()), r.errors()
    assert [s for s, _ in csv_rows(tmp_path)] == [0, 5, 10, 15, 20]
    # a restart from a later step continues it
    r = monitor_run(tmp_path, ref, reset="reset_timestep 15", runs="run 15")
    assert r.returncode == 0, r.output[-3000:]
    assert [s for s, _ in csv_rows(tmp_path)] == [0, 5, 10, 15, 20, 25, 30]


DEVI = """
units metal
atom_style atomic
read_data {data}
{reset}
pair_style llzo_dp {a} {b} out_file md.out out_freq 5
pair_coeff * * Li La Zr O
velocity all create 900 31 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
run 20
"""


def devi_steps(path):
    return [int(l.split()[0]) for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]


def test_model_devi_out_continues_on_restart_like_coverage_csv(tmp_path, ref):
    run = lambda reset: lammps(tmp_path, DEVI.format(data=ref / "system.data", reset=reset, a=TEST_MODEL, b=MODEL_B))
    r = run("")
    assert r.returncode == 0, r.output[-3000:]
    first = (tmp_path / "md.out").read_text()
    assert devi_steps(tmp_path / "md.out") == [0, 5, 10, 15, 20]
    # a restart from step 10: the rows of steps 0-20 stay (they used to be overwritten), 25 and 30 follow
    r = run("reset_timestep 10")
    assert r.returncode == 0, r.output[-3000:]
    text = (tmp_path / "md.out").read_text()
    assert text.startswith(first) and text.count("#") == 1
    assert devi_steps(tmp_path / "md.out") == [0, 5, 10, 15, 20, 25, 30]
    # a new run from step 0 over the old file: refused, naming out_file
    r = run("")
    assert r.returncode != 0
    assert any("out_file" in e and "steps 0 to 30" in e for e in r.errors()), r.errors()


def test_failed_frame_write_leaves_no_row_and_the_restart_writes_the_frame(tmp_path, ref):
    # the extxyz file of step 0 cannot be written (a directory holds its name), as with a
    # full disk: the run stops after the npy system of the frame, before its extxyz file
    blocker = tmp_path / "frames" / "step_000000000.xyz"
    (blocker / "occupied").mkdir(parents=True)
    r = monitor_run(tmp_path, ref, runs="run 10")
    assert r.returncode != 0 and any("step_000000000.xyz" in e for e in r.errors()), r.output[-2000:]
    assert (tmp_path / "frames" / "step_000000000.npy" / "set.000" / "coord.npy").exists()
    csv = tmp_path / "frames" / "coverage.csv"
    rows = csv_rows(tmp_path) if csv.exists() else []
    # no row may claim a frame whose files are not all there (it used to say dumped=1)
    assert (0, "1") not in rows, rows
    (blocker / "occupied").rmdir()
    blocker.rmdir()
    # the restart (same directory, same steps) writes the frame whole, then its row
    r = monitor_run(tmp_path, ref, runs="run 10")
    assert r.returncode == 0, r.output[-3000:]
    assert csv_rows(tmp_path)[0] == (0, "1")
    for ext in ("xyz", "data", "npy/set.000/coord.npy"):
        assert (tmp_path / "frames" / f"step_000000000.{ext}").exists(), ext
    assert not [p for p in (tmp_path / "frames").iterdir() if ".tmp" in p.name]


def extxyz_pbc(path):
    comment = path.read_text().splitlines()[1]
    return comment.split('pbc="')[1].split('"')[0]


@pytest.mark.parametrize("boundary,pbc", [("f f f", "F F F"), ("p p f", "T T F")])
def test_frames_carry_the_real_periodicity(tmp_path, ref, boundary, pbc):
    npy = boundary == "f f f"
    formats = "" if npy else "coverage_formats extxyz,data"
    r = monitor_run(tmp_path, ref, runs="run 0", boundary=f"boundary {boundary}", every=1, formats=formats)
    assert r.returncode == 0, r.output[-3000:]
    frames = tmp_path / "frames"
    assert extxyz_pbc(frames / "step_000000000.xyz") == pbc
    if npy:
        system = frames / "step_000000000.npy"
        assert (system / "nopbc").exists() == (boundary == "f f f")
        import dpdata

        s = dpdata.System(str(system), fmt="deepmd/npy")
        assert bool(s.nopbc) == (boundary == "f f f") and s.get_natoms() == 192


def test_npy_frames_of_a_mixed_boundary_are_refused(tmp_path, ref):
    r = monitor_run(tmp_path, ref, runs="run 0", boundary="boundary p p f", every=1)
    assert r.returncode != 0, "deepmd/npy frames of a p p f box were written as fully periodic"
    assert any("coverage_formats" in e and "p p f/s/m" in e for e in r.errors()), r.errors()


NAN = """
units metal
atom_style atomic
read_data {data}
pair_style llzo_dp {model} backend {backend}
pair_coeff * * Li La Zr O
thermo_style custom step pe
run 0
variable nan atom (1e308*10)-(1e308*10)
set atom 7 y v_nan
run 1 pre no
"""


@pytest.mark.parametrize("backend", ["native", "torch"])
def test_nan_coordinate_stops_the_run_naming_atom_and_step(tmp_path, ref, backend):
    r = lammps(tmp_path, NAN.format(data=ref / "system.data", model=TEST_MODEL, backend=backend))
    assert r.returncode != 0, f"a NaN coordinate went through ({backend}): {r.log[-1500:]}"
    # `run 1 pre no` skips the re-neighbouring (whose own check would catch it): the step is 1
    assert any("step 1: atom 7 has a non-finite coordinate (y = NaN)" in e for e in r.errors()), r.errors()


def test_neighbours_beyond_sel_are_warned_once(tmp_path, ref):
    # a perfect lattice compressed by 22 %: O has far more than sel[O] = 59 O neighbours
    cell, pos, types = tllzo()
    write_data(tmp_path / "dense.data", cell * 0.78, pos * 0.78, types)
    r = lammps(tmp_path, f"""units metal
atom_style atomic
read_data {tmp_path / 'dense.data'}
pair_style llzo_dp {TEST_MODEL}
pair_coeff * * Li La Zr O
run 2
run 2
""")
    assert r.returncode == 0, r.output[-3000:]
    warnings = [l for l in r.output.splitlines() if "WARNING" in l and "sel [43 19 12 59]" in l]
    assert len(warnings) == 2, warnings  # once per run, not once per step
    atoms = int(warnings[0].split("WARNING: pair_style llzo_dp: ")[1].split()[0])
    assert 0 < atoms <= 192, warnings[0]


def test_damaged_or_mismatched_reference_is_refused(tmp_path, ref):
    text = (ref / "ref.json").read_text()
    key = '"n_train_frames":'  # a number that nothing else checks
    at = text.index(key) + len(key)
    end = at + next(k for k, c in enumerate(text[at:]) if not c.isdigit())
    (tmp_path / "edited.json").write_text(text[:at] + str(int(text[at:end]) + 1) + text[end:])
    r = monitor_run(tmp_path / "edited", ref, runs="run 0", reference=tmp_path / "edited.json")
    assert r.returncode != 0, "an edited coverage reference was accepted"
    assert any("checksum" in e for e in r.errors()), r.errors()
    # a reference built for the test model, used with another model of the same type map and cutoff
    r = lammps(tmp_path / "other_model", MONITOR.format(boundary="", data=ref / "system.data", reset="", model=MODEL_B,
                                                         ref=ref / "ref.json", every=5, formats="", runs="run 0"))
    assert r.returncode != 0, "a reference built for another model was accepted"
    assert any("SHA-256" in e and "test_model_b.pth" in e for e in r.errors()), r.errors()
    # the CLI reports both checksums
    out = subprocess.run([str(CLI), "coverage", "check", str(ref / "ref.json"), str(TRAINING)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "reference content sha256" in out.stderr and "built for the model with sha256" in out.stderr
    info = subprocess.run([str(CLI), "info", str(TEST_MODEL)], capture_output=True, text=True)
    sha = info.stdout.split("sha256")[1].split()[0]
    assert f"built for the model with sha256 {sha}" in out.stderr


def test_out_file_with_one_model_is_warned(tmp_path, ref):
    r = lammps(tmp_path, f"""units metal
atom_style atomic
read_data {ref / 'system.data'}
pair_style llzo_dp {TEST_MODEL} out_file md.out
pair_coeff * * Li La Zr O
run 0
""")
    assert r.returncode == 0, r.output[-3000:]
    assert any("WARNING" in l and "out_file ignored" in l for l in r.output.splitlines()), r.output[-3000:]
    assert not (tmp_path / "md.out").exists()


def test_type_map_is_logged_and_repeated_elements_warned(tmp_path, ref):
    r = lammps(tmp_path, f"""units metal
atom_style atomic
read_data {ref / 'system.data'}
pair_style llzo_dp {TEST_MODEL}
pair_coeff * * Li La Zr O
run 0
pair_coeff * * Li Li Zr O
run 0
""")
    assert r.returncode == 0, r.output[-3000:]
    assert "LAMMPS type -> element: 1 Li, 2 La, 3 Zr, 4 O" in r.log
    assert "LAMMPS type -> element: 1 Li, 2 Li, 3 Zr, 4 O" in r.log
    warnings = [l for l in r.output.splitlines() if "WARNING" in l]
    assert any("replaces the earlier element map" in w for w in warnings), warnings
    assert any("to Li whose masses differ" in w and "type 2 (mass 138.9" in w for w in warnings), warnings


@pytest.mark.parametrize("backend", ["native", "torch"])
def test_dense_cell_keeps_the_nearest_neighbours_like_deeppot(tmp_path, backend):
    # compressed by 15 % and jittered (no equal distances): some atoms have more O neighbours
    # than sel[O] while no row is wider than sum(sel), so the graph does not sort; the kept
    # neighbours must still be the nearest of each type, as DeePMD-kit keeps them (they
    # used to be the first in LAMMPS's list: forces off by eV/Å)
    from deepmd.infer import DeepPot
    from test_reference_deeppot import check_against_deeppot, run_both

    cell, pos, types = tllzo()
    cell, pos, types = perturbed(cell * 0.85, pos * 0.85, types, seed=3, sigma=0.03)
    r, d, ref = run_both(tmp_path, DeepPot(str(TEST_MODEL)), cell, pos, types, backend=backend)
    assert any("WARNING" in l and "sel [43 19 12 59]" in l for l in r.output.splitlines())
    check_against_deeppot(r, d, ref)
