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


def test_block_series_cuts_each_segment_and_time_ordered_counts_blocks(tmp_path):
    # two segments of 5 ps sampled every 20 steps; the first sample of each is its start state
    for k, (c0, c1) in enumerate([(12.7, 12.9), (13.1, 13.1)]):
        seg = tmp_path / f"seg{k:02d}"
        seg.mkdir()
        steps = np.arange(10000 if k == 0 else 0, (10000 if k == 0 else 0) + 5001, 20)
        lengths = np.tile([26.2, 26.2, 0.0], (len(steps), 1))
        lengths[:, 2] = np.where(steps - steps[0] <= 2500, 2 * c0, 2 * c1)
        lengths[0, 2] = 99.0  # the start state must not enter a block
        d = fake_samples(lengths)
        d[:, 1] = steps
        np.savetxt(seg / "lattice.dat", d)
    series = rung.block_series(rung.segment_samples(tmp_path), [], None, (2, 2, 2), 1e-3)
    assert [x["t_ps"] for x in series] == [2.5, 5.0, 7.5, 10.0]
    assert [round(x["c"], 6) for x in series] == [12.7, 12.9, 13.1, 13.1]
    assert [x["axis"] for x in series] == ["z", "z", "x", "x"]  # no Li snapshots: the shortest axis
    assert math.isclose(series[0]["c_over_a"], 12.7 / 13.1)
    blocks = [dict(eta=e) for e in [0.4, 0.45, 0.1, 0.12, 0.38, 0.1, float("nan")]]
    assert rung.time_ordered(blocks)[0] == pytest.approx(3 / 6)
    always = rung.time_ordered([dict(eta=0.4)] * 10)
    assert always[0] == 1.0 and math.isnan(always[1])  # never switched: no error estimate


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
    with pytest.raises(SystemExit, match="cannot extend"):  # 1400 K started from 400 K's end
        run.main(TINY[:-6] + ["--min-segments", "3", "--max-segments", "3", "--precision", "float32",
                              "--temps", "400", "1400", "--out", str(out)])
    with pytest.raises(SystemExit, match="equil"):  # a resumed run may not change the protocol
        run.main(TINY[:4] + ["--equil", "120"] + TINY[6:] + ["--temps", "400", "--out", str(out)])
    heating400 = by[("heating", 400.0)]
    times = [0.06 * (k + 1) for k in range(heating400["segments"])]  # blocks end with the short segments
    assert [x["t_ps"] for x in heating400["series"]] == pytest.approx(times)
    analyze.publish(out, tmp_path / "published")
    assert (tmp_path / "published" / "rungs" / "cooling_T1400.json").exists()
    assert (tmp_path / "published" / "series_heating.csv").read_text().startswith("T_set_K,t_ps,eta")
    assert (tmp_path / "published" / "series_cooling.png").exists()


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
    # a longer rung later: 1400 K goes on from its last state, 400 K (long enough) is kept
    before = (out / "heating" / "T0400" / "rung.json").read_text()
    run.main(TINY[:-6] + ["--min-segments", "2", "--max-segments", "2", "--precision", "float32", "--independent",
                          "--temps", "1400", "--out", str(out)])
    rung1400 = out / "heating" / "T1400"
    assert json.loads((rung1400 / "rung.json").read_text())["segments"] == 2
    log = (rung1400 / "seg01" / "log.lammps").read_text()
    assert "Reading restart file" in log and "Reading data file" not in log
    assert not (rung1400 / "seg00" / "restart.bin").exists() and (rung1400 / "seg01" / "restart.bin").exists()
    assert (out / "heating" / "T0400" / "rung.json").read_text() == before


def test_equal_time_tc_interpolates_the_pooled_fraction():
    """Both branches pooled per temperature (inverse-variance), then the 1/2 crossing: at 850 K
    (0.8 ± 0.1 and 0.6 ± 0.1 -> 0.7 ± 0.0707), at 900 K 0.3 ± 0.1: Tc = 850 + 0.2/0.4 · 50 = 875
    K, error from both ends. A rung that never switched has no error and yields to one that has."""
    def row(t, f, e, melted=False):
        return dict(T=t, time_ordered=(f, e), melted=melted)
    heating = [row(800, 1.0, float("nan")), row(850, 0.8, 0.1), row(900, 0.3, 0.1), row(2000, 0.0, 0.1, melted=True)]
    cooling = [row(850, 0.6, 0.1), row(900, 0.0, float("nan"))]
    pooled = analyze.pooled_time_ordered([dict(name="heating", rows=heating), dict(name="cooling", rows=cooling)])
    assert pooled[850] == pytest.approx((0.7, 0.1 / math.sqrt(2)))
    assert pooled[900] == pytest.approx((0.3, 0.1)) and pooled[800][0] == 1.0 and 2000 not in pooled
    et = analyze.equal_time_tc([dict(name="heating", rows=heating), dict(name="cooling", rows=cooling)])
    span, df = 50.0, 0.4
    err = math.hypot(span * 0.2 / df ** 2 * (0.1 / math.sqrt(2)), span * 0.2 / df ** 2 * 0.1)
    assert et["tc"] == pytest.approx(875.0) and et["between"] == [850, 900] and et["err"] == pytest.approx(err)
    assert not et["incomplete_errors"] and "875 ±" in analyze.equal_time_text(et)
    # ordered most of the time everywhere: a lower bound, no number
    et = analyze.equal_time_tc([dict(name="cooling", rows=[row(800, 0.9, 0.05), row(825, 0.6, 0.1)])])
    assert et["tc"] is None and et["bound"].startswith("above 825 K")
    # the crossing next to a rung that never switched: flagged
    et = analyze.equal_time_tc([dict(name="heating", rows=[row(800, 1.0, float("nan")), row(850, 0.2, 0.1)])])
    assert et["tc"] == pytest.approx(800 + 0.5 / 0.8 * 50) and et["incomplete_errors"]
    # neither end point switched (900 K and 1000 K rungs without block errors): no error, not "± 0"
    et = analyze.equal_time_tc([dict(name="heating", rows=[row(900, 0.6, float("nan")), row(1000, 0.0, float("nan"))])])
    text = analyze.equal_time_text(et)
    assert et["tc"] == pytest.approx(900 + 0.1 / 0.6 * 100) and et["err"] is None
    assert "±" not in text and "no error estimate" in text and text.startswith("917 K")


def test_thermal_expansion_needs_rungs_far_enough_apart():
    """Rungs 25 K apart near Tc give no expansion coefficient (their volumes move with the
    transition's fluctuations); 1300-1500 K give one: V = V0 (1 + 3e-5 (T - 1400)) -> 3e-5 /K."""
    def row(t, v):
        a = (v ** (1 / 3),) * 2
        return dict(T=t, phase="cubic", V=(v, 0.1), a=a, b=a, c=a)
    assert analyze.expansion([row(850, 2352.0), row(875, 2356.0)], "cubic") is None
    rows = [row(t, 2450.0 * (1 + 3e-5 * (t - 1400))) for t in (1300, 1400, 1500)]
    e = analyze.expansion(rows, "cubic")
    assert e["volumetric"]["alpha"] == pytest.approx(3e-5, rel=1e-9) and e["points"] == 3
