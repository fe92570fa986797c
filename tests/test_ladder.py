"""The NPT ladder workflow (examples/heating): its measures on constructed samples, the Tc
bracket logic, and a tiny heating + cooling ladder run, interrupted and resumed."""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

HEATING = Path(__file__).resolve().parents[1] / "examples" / "heating"
sys.path.insert(0, str(HEATING))
import analyze  # noqa: E402
import rung  # noqa: E402


def fake_samples(lengths):
    """lattice.dat rows (T step temp lx ly lz vol pe press coverage msd_La) for box lengths."""
    n = len(lengths)
    d = np.zeros((n, 11))
    d[:, 0], d[:, 1], d[:, 2] = 900.0, np.arange(n), 900.0
    d[:, 3:6] = lengths
    d[:, 6] = np.prod(lengths, axis=1)
    return d


def test_cubic_cell_reads_one_and_shortest_axis_would_not():
    rng = np.random.default_rng(0)
    lengths = 13.1 + 0.05 * rng.normal(size=(3000, 3))
    m = rung.lattice_measures(fake_samples(lengths), (1, 1, 1), c_axis=2)
    ca, err = m["c_over_a"]
    assert abs(ca - 1.0) < 3 * err and err < 0.001
    assert abs(m["split_deg"][0]) < 3 * m["split_deg"][1]
    biased = np.mean(lengths.min(axis=1) / np.sort(lengths, axis=1)[:, 1:].mean(axis=1))
    assert biased < 1.0 - 10 * err  # the shortest-axis ratio is what the fixed axis avoids


def test_tetragonal_cell_ratio_and_peak_splitting():
    lengths = np.tile([26.2, 26.2, 25.4], (100, 1))  # a 2x2x2 cell: a = 13.1, c = 12.7
    m = rung.lattice_measures(fake_samples(lengths), (2, 2, 2), c_axis=2)
    assert m["c_over_a"][0] == pytest.approx(12.7 / 13.1) and m["c_len"][0] == pytest.approx(12.7)
    # Bragg: (004) of the shorter c sits at higher angle than (400)
    expected = 2 * (math.degrees(math.asin(rung.WAVELENGTH / 12.7 * 2)) - math.degrees(math.asin(rung.WAVELENGTH / 13.1 * 2)))
    assert m["split_deg"][0] == pytest.approx(expected) and expected > 0.8


def rows(branch, states):
    return [dict(branch=branch, T=t, order=o, stationary=s, melted=False) for t, o, s in states]


def test_bracket_from_both_branches():
    heating = rows("heating", [(800, "ordered", True), (900, "ordered", True), (950, "disordered", True),
                               (1000, "disordered", True)])
    cooling = rows("cooling", [(1000, "disordered", True), (900, "disordered", True), (850, "ordered", True),
                               (800, "ordered", True)])
    tc = analyze.bracket([dict(name="heating", rows=heating), dict(name="cooling", rows=cooling)])
    assert (tc["lower"], tc["upper"], tc["width"]) == (850, 950, 100)
    heating[2]["stationary"] = False  # an unsettled rung sets no bound
    cooling[2]["order"] = "disordered"
    tc = analyze.bracket([dict(name="heating", rows=heating), dict(name="cooling", rows=cooling)])
    assert (tc["lower"], tc["upper"], tc["width"]) == (800, 1000, 200)
    assert "none yet" in analyze.bracket_text(analyze.bracket([dict(name="heating", rows=heating[:2])]))


TINY = ["--cells", "1", "1", "1", "--equil", "60", "--prod", "60", "--every", "10", "--li-every", "20",
        "--xrd-every", "60", "--pdamp", "0.1", "--min-segments", "1", "--max-segments", "2", "--precision", "float32"]


def test_tiny_ladder_heating_and_cooling_resumes(tmp_path, capsys):
    import run
    out = tmp_path / "ladder"
    run.main(TINY + ["--temps", "400", "--out", str(out)])
    first = out / "heating" / "T0400"
    record = json.loads((first / "rung.json").read_text())
    assert record["segments"] == (1 if record["stationary"] else 2)
    assert all(c["steps"] > 0 and c["seconds"] > 0 and 0 < c["cpu_seconds"] for c in record["costs"])
    # resumed with a longer ladder: 400 K is kept, 1400 K starts from its final state
    run.main(TINY + ["--temps", "400", "1400", "--out", str(out)])
    assert json.loads((first / "rung.json").read_text()) == record
    assert not list(first.glob("seg*/restart.bin"))  # only the newest rung keeps one
    assert list((out / "heating" / "T1400").glob("seg*/restart.bin"))
    assert "velocity all scale 1400" in (out / "heating" / "T1400" / "seg00" / "log.lammps").read_text()
    run.main(TINY + ["--branch", "cooling", "--temps", "400", "1400", "--out", str(out)])
    assert [p.name for p in sorted((out / "cooling").glob("T*"))] == ["T0400", "T1400"]
    summary = json.loads((out / "summary.json").read_text())
    by = {(r["branch"], r["T"]): r for r in summary["rungs"]}
    assert by[("heating", 400.0)]["eta"][0] > 0.9  # ordered t-LLZO stays ordered
    assert by[("cooling", 1400.0)]["eta"][0] < 0.6  # the cubic start is Li-disordered
    assert by[("heating", 400.0)]["c_axis"] == "z"
    text = (out / "summary.md").read_text()
    assert "upper bound on Tc" in text and "Cooling branch" in text
    with pytest.raises(SystemExit, match="equil"):  # a resumed run may not change the protocol
        run.main(TINY[:4] + ["--equil", "120"] + TINY[6:] + ["--temps", "400", "--out", str(out)])
    analyze.publish(out, tmp_path / "published")
    assert (tmp_path / "published" / "rungs" / "cooling_T1400.json").exists()


def test_independent_rungs_start_from_the_branch_structure(tmp_path):
    import run
    out = tmp_path / "independent"
    run.main(TINY + ["--independent", "--max-segments", "1", "--temps", "1400", "--out", str(out)])
    # a lower temperature after a higher one: in a ladder it would have no state to start from
    run.main(TINY + ["--independent", "--max-segments", "1", "--temps", "400", "1400", "--out", str(out)])
    for t in ("T0400", "T1400"):
        log = (out / "heating" / t / "seg00" / "log.lammps").read_text()
        assert "Reading data file" in log and "Reading restart file" not in log  # from start.data
        assert f"velocity all create {int(t[1:])} " in log
    assert list((out / "heating" / "T1400").glob("seg*/restart.bin"))  # every rung keeps its state
    with pytest.raises(SystemExit, match="independent"):
        run.main(TINY + ["--max-segments", "1", "--temps", "400", "--out", str(out)])
