"""`llzo-dp coverage build/check`: the PCA coverage of the paper on the test data. The
training set covers itself 100 %; an expanded copy of a training frame is clearly less
covered; the reference file refuses a feature version it was not made for."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from checkout import ROOT, TEST_MODEL

CLI = ROOT / "target" / "release" / "llzo-dp"
DATA = ROOT / "tests" / "data" / "test_model" / "data"
TYPE_MAP = "Li,La,Zr,O"


def run(*args, check=True):
    out = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=600)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("coverage") / "ref.json"
    out = run("coverage", "build", "--type-map", TYPE_MAP, "--rcut", 6.0, "-o", path, DATA / "training")
    assert "m = " in out.stderr  # progress and the PCA summary go to stderr
    return path


def write_system(dir_, coords, boxes, types, type_map):
    (dir_ / "set.000").mkdir(parents=True)
    np.savetxt(dir_ / "type.raw", types, fmt="%d")
    (dir_ / "type_map.raw").write_text("\n".join(type_map) + "\n")
    np.save(dir_ / "set.000" / "coord.npy", coords)
    np.save(dir_ / "set.000" / "box.npy", boxes)


def test_training_covers_itself(reference, tmp_path):
    run("coverage", "check", reference, DATA / "training", "--csv", tmp_path / "c.csv")
    r = rows(tmp_path / "c.csv")
    assert len(r) == 79 + 1  # every frame and the whole set
    for row in r:
        assert float(row["overall"]) == 100.0, row
        assert row["flagged_atoms"] in ("0", "")


def test_expanded_frame_is_less_covered(reference, tmp_path):
    src = DATA / "training" / "conv192"
    coords = np.load(src / "set.000" / "coord.npy")[:1]
    boxes = np.load(src / "set.000" / "box.npy")[:1]
    types = np.loadtxt(src / "type.raw", dtype=int)
    tmap = (src / "type_map.raw").read_text().split()
    write_system(tmp_path / "same", coords, boxes, types, tmap)
    write_system(tmp_path / "expanded", coords * 1.3, boxes * 1.3, types, tmap)
    run("coverage", "check", reference, tmp_path / "same", "--csv", tmp_path / "same.csv")
    run("coverage", "check", reference, tmp_path / "expanded", "--csv", tmp_path / "exp.csv")
    same = rows(tmp_path / "same.csv")[0]
    exp = rows(tmp_path / "exp.csv")[0]
    print("same", same, "\nexpanded", exp)
    assert float(same["overall"]) == 100.0
    assert float(exp["overall"]) < 50.0
    assert int(exp["flagged_atoms"]) == 192


def test_validation_and_pc_map(reference, tmp_path):
    out = run("coverage", "check", reference, DATA / "validation", "--csv", tmp_path / "v.csv",
              "--pcs-csv", tmp_path / "pcs.csv")
    total = rows(tmp_path / "v.csv")[-1]
    print(out.stdout, out.stderr)
    assert total["system"] == "ALL"
    assert 50.0 < float(total["overall"]) < 100.0  # unseen but similar frames
    pcs = rows(tmp_path / "pcs.csv")
    assert {p["set"] for p in pcs} == {"train", "test"}
    assert sum(p["set"] == "test" for p in pcs) == int(total["atoms"])
    png = tmp_path / "pc_map.png"
    plot = subprocess.run([sys.executable, ROOT / "examples" / "coverage" / "plot_pc_map.py", tmp_path / "pcs.csv",
                           "-o", png], capture_output=True, text=True, timeout=300)
    assert plot.returncode == 0, plot.stderr
    assert png.stat().st_size > 10_000


def test_reference_validation(reference, tmp_path):
    ref = json.loads(reference.read_text())
    assert ref["type_map"] == TYPE_MAP.split(",") and ref["features"]["rcut"] == 6.0
    ref["feature_version"] += 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(ref))
    out = run("coverage", "check", bad, DATA / "validation", check=False)
    assert out.returncode == 1 and "feature version" in out.stderr
    # a system with an element the reference does not know
    write_system(tmp_path / "alien", np.zeros((1, 6)), np.eye(3).reshape(1, 9) * 10, [0, 1], ["Li", "Na"])
    out = run("coverage", "check", reference, tmp_path / "alien", check=False)
    assert out.returncode == 1 and "Na is not in the type map" in out.stderr


def test_reference_must_match_the_model(reference, tmp_path):
    run("coverage", "check", reference, DATA / "validation" / "md96", "--model", TEST_MODEL)
    other = tmp_path / "rcut5.json"
    run("coverage", "build", "--type-map", TYPE_MAP, "--rcut", 5.0, "-o", other, DATA / "training" / "md96")
    out = run("coverage", "check", other, DATA / "validation" / "md96", "--model", TEST_MODEL, check=False)
    assert out.returncode == 1 and "built for cutoff 5 Å, the model's is 6 Å" in out.stderr
    swapped = tmp_path / "swapped.json"
    run("coverage", "build", "--type-map", "La,Li,Zr,O", "--rcut", 6.0, "-o", swapped, DATA / "training" / "md96")
    out = run("coverage", "check", swapped, DATA / "validation" / "md96", "--model", TEST_MODEL, check=False)
    assert out.returncode == 1 and "type map [La Li Zr O], the model has [Li La Zr O]" in out.stderr


def test_extxyz_input_gives_the_same_coverage_as_deepmd_npy(tmp_path, reference):
    """`coverage check` reads extended XYZ: the validation frames written as .extxyz (with an
    extra per-atom column) give the same per-frame coverage as the deepmd/npy system."""
    sysdir = DATA / "validation" / "md96"
    names = (sysdir / "type_map.raw").read_text().split()
    types = [names[int(t)] for t in (sysdir / "type.raw").read_text().split()]
    coords = np.load(sysdir / "set.000" / "coord.npy").reshape(-1, len(types), 3)
    boxes = np.load(sysdir / "set.000" / "box.npy").reshape(-1, 9)
    lines = []
    for c, b in zip(coords, boxes):
        lines += [str(len(types)), f'Lattice="{" ".join(f"{x:.17g}" for x in b)}" '
                  'Properties=species:S:1:pos:R:3:charge:R:1 pbc="T T T"']
        lines += [f"{t} {x:.17g} {y:.17g} {z:.17g} 0.0" for t, (x, y, z) in zip(types, c)]
    xyz = tmp_path / "md96.extxyz"
    xyz.write_text("\n".join(lines) + "\n")
    run("coverage", "check", reference, sysdir, "--csv", tmp_path / "npy.csv")
    run("coverage", "check", reference, xyz, "--csv", tmp_path / "xyz.csv")
    a, b = rows(tmp_path / "npy.csv"), rows(tmp_path / "xyz.csv")
    assert len(a) == len(b) == len(coords) + 1
    for ra, rb in zip(a, b):
        assert {k: v for k, v in ra.items() if k != "system"} == {k: v for k, v in rb.items() if k != "system"}
