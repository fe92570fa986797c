"""The exploration stage of active learning: LAMMPS jobs with the coverage monitor, run through
dpdispatcher on this machine's shell, their dumped frames gathered and chosen from."""
import subprocess

import pytest

from checkout import ROOT, TEST_MODEL
from llzo_dp_tools import exploration as X
from llzo_dp_tools.selection import by_coverage

CLI = ROOT / "target" / "release" / "llzo-dp"
DATA = ROOT / "tests" / "data" / "test_model" / "data"


def test_bad_ensemble_is_refused():
    with pytest.raises(ValueError, match="npt or nvt"):
        X.lammps_input(X.Condition("x", 300.0, ensemble="nve"), X.MonitorSettings(), "m.pth", "r.json")


def test_explore_dispatch_and_choose(tmp_path):
    ref = tmp_path / "ref.json"
    assert subprocess.run([str(CLI), "coverage", "build", "--model", str(TEST_MODEL), "-o", str(ref),
                           str(DATA / "training")], capture_output=True).returncode == 0
    stage = tmp_path / "explore"
    conditions = [X.Condition("hot_nvt", 1500.0, ensemble="nvt", steps=60, seed=3),
                  X.Condition("cold_npt", 300.0, steps=60, seed=4)]
    # threshold 1: every monitored frame below full coverage is dumped (3 at most, 20 steps apart)
    monitor = X.MonitorSettings(every=10, threshold=1.0, max_frames=3, min_gap=20)
    X.prepare(stage, conditions, monitor, TEST_MODEL, ref)
    names = [c.name for c in conditions]
    X.dispatch(stage, names, parallel=2)
    assert all(X.finished(stage / n) for n in names)
    hot = X.frame_coverages(stage / "hot_nvt")
    assert 1 <= len(hot) <= 3 and all(0.0 < c < 1.0 for c in hot.values())
    assert X.mean_coverage(stage / "hot_nvt") < X.mean_coverage(stage / "cold_npt") + 1e-12
    cands = X.candidates(stage, names, CLI)
    assert len(cands) == sum(len(X.frame_coverages(stage / n)) for n in names)
    assert all(len(c.fingerprint) == 8 for c in cands)
    picked = by_coverage(cands, budget=2)
    assert min(c.coverage for c in cands) in [c.coverage for c in picked]
    before = (stage / "hot_nvt" / "log.lammps").stat().st_mtime_ns
    X.dispatch(stage, names, parallel=2)  # finished conditions are not run again
    assert (stage / "hot_nvt" / "log.lammps").stat().st_mtime_ns == before


def test_a_run_that_stops_with_an_error_keeps_its_frames(tmp_path):
    """A condition whose LAMMPS run errors out after some steps (here a bad command after the
    run, standing in for lost atoms) ends early: no exception, not rerun, and the frames the
    monitor dumped before the error stay candidates."""
    ref = tmp_path / "ref.json"
    assert subprocess.run([str(CLI), "coverage", "build", "--model", str(TEST_MODEL), "-o", str(ref),
                           str(DATA / "training")], capture_output=True).returncode == 0
    stage = tmp_path / "explore"
    conditions = [X.Condition("breaks", 1500.0, ensemble="nvt", steps=40, seed=5)]
    X.prepare(stage, conditions, X.MonitorSettings(every=10, threshold=1.0, max_frames=3, min_gap=10), TEST_MODEL, ref)
    script = stage / "breaks" / "in.explore"
    script.write_text(script.read_text() + "this_is_not_a_lammps_command\n")
    X.dispatch(stage, ["breaks"])
    assert X.ended_early(stage / "breaks") and not X.finished(stage / "breaks")
    assert 1 <= len(X.frame_coverages(stage / "breaks")) <= 3
    assert X.mean_coverage(stage / "breaks") < 1.0
    before = (stage / "breaks" / "log.lammps").stat().st_mtime_ns
    X.dispatch(stage, ["breaks"])  # an ended run is an outcome: not run again
    assert (stage / "breaks" / "log.lammps").stat().st_mtime_ns == before
    assert X.mean_coverage(tmp_path / "never_ran") != X.mean_coverage(tmp_path / "never_ran")  # nan


def test_a_broken_input_stops_the_exploration(tmp_path):
    """An error before the first MD step (here the coverage reference is missing) is no
    outcome of the model: the stage raises, naming the condition, instead of recording a
    run that ended early with no frames."""
    ref = tmp_path / "ref.json"
    assert subprocess.run([str(CLI), "coverage", "build", "--model", str(TEST_MODEL), "-o", str(ref),
                           str(DATA / "training")], capture_output=True).returncode == 0
    stage = tmp_path / "explore"
    X.prepare(stage, [X.Condition("broken", 300.0, ensemble="nvt", steps=20, seed=5)], X.MonitorSettings(), TEST_MODEL, ref)
    script = stage / "broken" / "in.explore"
    script.write_text(script.read_text().replace("../coverage_reference.json", "../missing_reference.json"))
    with pytest.raises(RuntimeError, match="broken"):
        X.dispatch(stage, ["broken"])
    assert not X.ended_early(stage / "broken")


def test_a_swelling_cell_halts_the_run(tmp_path):
    """With a volume bound, the NPT run stops at the first check past it: the log says so, the
    run counts as finished (not as an error) and stopped before its last step."""
    import re

    ref = tmp_path / "ref.json"
    assert subprocess.run([str(CLI), "coverage", "build", "--model", str(TEST_MODEL), "-o", str(ref),
                           str(DATA / "training")], capture_output=True).returncode == 0
    stage = tmp_path / "explore"
    X.prepare(stage, [X.Condition("swells", 1500.0, steps=400, seed=6)], X.MonitorSettings(), TEST_MODEL, ref,
              halt_volume_change=1e-5)
    X.dispatch(stage, ["swells"])
    log = (stage / "swells" / "log.lammps").read_text()
    assert X.halted(stage / "swells") and X.finished(stage / "swells") and not X.ended_early(stage / "swells")
    step = int(re.search(r"Fix halt condition for fix-id halt met on step (\d+)", log).group(1))
    assert 0 < step < 400
    X.prepare(tmp_path / "free", [X.Condition("free", 1500.0, steps=20, seed=6)], X.MonitorSettings(), TEST_MODEL, ref)
    assert "halt" not in (tmp_path / "free" / "free" / "in.explore").read_text()
