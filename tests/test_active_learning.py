"""The active-learning loop end to end, quick: explore with the coverage monitor, choose, label
(the test model as the reference), fine-tune, record; run again, nothing is redone. And the
same loop choosing by DP-GEN's model deviation and at random."""
import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from checkout import ROOT, TEST_MODEL
from llzo_dp_tools import active_learning

DATA = ROOT / "tests" / "data" / "test_model" / "data"


def load_example(rel):
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(rel).stem, ROOT / "examples" / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_loop_runs_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("LLZO_DP_CLI", str(ROOT / "target" / "release" / "llzo-dp"))
    work = tmp_path / "al"
    args = ["--work", str(work), "--model", str(TEST_MODEL), "--template", str(DATA.parent / "input.json"),
            "--data0", *map(str, sorted(p for p in (DATA / "training").iterdir() if p.is_dir())),
            "--method", f"dp:{TEST_MODEL}", "--iterations", "1", "--threshold", "1.0", "--quick",
            "--test", *map(str, sorted(p for p in (DATA / "validation").iterdir() if p.is_dir()))]
    assert active_learning.main(args) == 0
    it = work / "iter_000"
    record = json.loads((it / "record.json").read_text())
    scores = json.loads((it / "heldout.json").read_text())  # the explored model on the held-out systems
    assert scores["model"] == str(TEST_MODEL.resolve()) and record["heldout_f"] == scores["all"]["rmse_f"] > 0
    held = list(csv.DictReader(open(work / "heldout.csv")))
    assert {r["family"] for r in held} == {"conv192", "cubic192", "md96", "prim96"}
    assert all(float(r["mean_e_meV_atom"]) == pytest.approx(scores["families"][r["family"]]["mean_e"], rel=1e-3, abs=1e-3)
               for r in held)
    plots = load_example("active_learning/plots.py")
    assert plots.main([str(work)]) == 0  # the run's table and figures
    row, = list(csv.DictReader(open(work / "al_iterations.csv")))
    assert row["arm"] == "coverage" and float(row["heldout_f"]) == pytest.approx(record["heldout_f"], rel=1e-5)
    assert all((work / f).stat().st_size > 0 for f in ("coverage.png", "heldout_rmse.png", "pc_maps_coverage.png"))
    assert 0.0 < record["mean_coverage"] < 1.0 and 1 <= record["chosen"] <= 3
    assert (it / "train" / "model.pth").exists() and record["next_model"] == str(it / "train" / "model.pth")
    labelled = sorted((it / "label").glob("sys_*"))
    assert labelled and all((s / "set.000" / "force.npy").exists() for s in labelled)
    rows = list(csv.DictReader(open(work / "summary.csv")))
    assert [r["iteration"] for r in rows] == ["0"]
    stamp = (it / "record.json").stat().st_mtime_ns
    assert active_learning.main(args) == 0  # finished iterations are read, not rerun
    assert (it / "record.json").stat().st_mtime_ns == stamp


def other_criterion_args(work, criterion):
    args = ["--work", str(work), "--model", str(TEST_MODEL), "--template", str(DATA.parent / "input.json"),
            "--data0", *map(str, sorted(p for p in (DATA / "training").iterdir() if p.is_dir())),
            "--method", f"dp:{TEST_MODEL}", "--iterations", "1", "--threshold", "1.0", "--quick",
            "--criterion", criterion]
    if criterion == "deviation":  # the test model and its twin trained with another seed
        args += ["--ensemble", str(TEST_MODEL.parent / "test_model_b.pth"), "--trust-lo", "1.0", "--trust-hi", "1.5"]
    return args


@pytest.mark.parametrize("criterion", ["deviation", "random"])
def test_quick_loop_with_dpgen_and_random_choice(tmp_path, monkeypatch, criterion):
    """The loop's other arms at the same budget (3 frames): DP-GEN's choice takes frames sampled
    every 10 steps whose max_devi_f over the model and its ensemble lies between the trust levels
    (1.0 and 1.5 eV/Å here: steps 10-40 of the quick run; step 0 lies below, 50 and 60 above),
    and fine-tunes every ensemble member; random choice draws sampled frames with its seed. The
    labelled frames are the sampled ones, and the monitor's coverage is recorded in both arms."""
    from llzo_dp_tools.exploration import trajectory_frames
    from llzo_dp_tools.labelling import read_frames
    from llzo_dp_tools.selection import at_random, read_model_devi

    monkeypatch.setenv("LLZO_DP_CLI", str(ROOT / "target" / "release" / "llzo-dp"))
    work = tmp_path / criterion
    assert active_learning.main(other_criterion_args(work, criterion)) == 0
    it = work / "iter_000"
    record = json.loads((it / "record.json").read_text())
    chosen = json.loads((it / "chosen.json").read_text())
    run = it / "explore" / "T1500_1x1x1"
    sampled = trajectory_frames(run)
    assert sorted(sampled) == list(range(0, 61, 10))
    assert record["criterion"] == criterion and record["chosen"] == len(chosen) == 3
    assert 0.0 < record["mean_coverage"] < 1.0
    if criterion == "deviation":
        devi = {r.key: r.max_devi_f for r in read_model_devi(run / "model_devi.out", "T1500_1x1x1:")}
        between = sorted(k for k, v in devi.items() if 1.0 <= v < 1.5)
        assert len(between) == 4 and set(chosen) <= set(between), (devi, chosen)
        assert record["next_ensemble"] == [str(it / "train_m1" / "model.pth")]
        assert (it / "train_m1" / "model.pth").exists()
    else:
        assert chosen == at_random([f"T1500_1x1x1:{s}" for s in sorted(sampled)], 3, seed=1000)
    labelled = [f for s in sorted((it / "label").glob("sys_*")) for f in read_frames(s)]
    wanted = sorted(tuple(np.round(sampled[int(k.rsplit(":", 1)[1])].positions, 6).ravel()) for k in chosen)
    assert sorted(tuple(np.round(f.positions, 6).ravel()) for f in labelled) == wanted


def test_conditions_without_monitored_steps_count_as_uncovered():
    """Three conditions, one that never reached a monitored step: the mean is (1 + 1 + 0) / 3,
    below a 0.995 target, not the 1.0 of the other two."""
    nan = float("nan")
    assert active_learning.mean_coverage([1.0, 1.0, nan]) == pytest.approx(2 / 3)
    assert active_learning.mean_coverage([0.99, 0.97]) == pytest.approx(0.98)
    assert active_learning.mean_coverage([]) == 0.0


@pytest.mark.parametrize("criterion", ["coverage", "random"])
def test_frames_outside_the_limits_are_never_chosen(tmp_path, monkeypatch, criterion):
    """The same explored frames, chosen with the default limits and with limits no frame meets
    (atoms at least 10 Å apart): the first choice is not empty, the second is, and every frame
    it saw is counted as rejected under its condition."""
    import subprocess
    from types import SimpleNamespace

    from llzo_dp_tools import exploration as X
    from llzo_dp_tools.frame_filter import FrameLimits

    cli = ROOT / "target" / "release" / "llzo-dp"
    monkeypatch.setenv("LLZO_DP_CLI", str(cli))
    ref = tmp_path / "ref.json"
    assert subprocess.run([str(cli), "coverage", "build", "--model", str(TEST_MODEL), "-o", str(ref),
                           str(DATA / "training")], capture_output=True).returncode == 0
    stage, sampling = tmp_path / "explore", X.Sampling(every=10) if criterion == "random" else X.Sampling()
    X.prepare(stage, [X.Condition("hot", 1500.0, ensemble="nvt", steps=40, seed=7)],
              X.MonitorSettings(every=10, threshold=1.0, max_frames=3, min_gap=10), TEST_MODEL, ref, sampling)
    X.dispatch(stage, ["hot"], sampling=sampling)
    a = SimpleNamespace(criterion=criterion, budget=10, min_distance=0.0, limits=FrameLimits())
    keys, rejected = active_learning.choose(0, a, stage, ["hot"])
    assert keys and rejected == {}
    a.limits = FrameLimits(min_distance=10.0)
    none, rejected = active_learning.choose(0, a, stage, ["hot"])
    seen = len(X.frame_coverages(stage / "hot")) if criterion == "coverage" else len(X.trajectory_frames(stage / "hot"))
    assert none == [] and rejected == {"hot": seen} and seen >= len(keys)


def test_budgets_follow_another_arm(tmp_path):
    """Equal label budgets: an arm given another's directory labels what that arm labelled per
    iteration, up to its converged iteration, and then only explores."""
    for k, (chosen, converged) in enumerate([(30, False), (2, False), (6, False), (1, True)]):
        d = tmp_path / "coverage" / f"iter_{k:03d}"
        d.mkdir(parents=True)
        (d / "record.json").write_text(json.dumps({"iteration": k, "chosen": chosen, "converged": converged}))
    assert active_learning.budgets_of(tmp_path / "coverage") == [30, 2, 6]
    a = argparse.Namespace(budget=20, budgets=[30, 2, 6])
    assert [active_learning.budget_at(a, k) for k in range(4)] == [30, 2, 6, 0]
    assert active_learning.budget_at(argparse.Namespace(budget=20, budgets=None), 5) == 20


def test_budgets_from_the_committed_table():
    """A fresh clone has no coverage-arm directory: the budgets come from the committed
    al_iterations.csv, the steps of the coverage arm's labelled_before column (30 + 2 + 6 + 5 + 20
    = 63 frames, the committed run's five labelled iterations)."""
    table = ROOT / "examples" / "active_learning" / "results" / "al_iterations.csv"
    budgets = active_learning.budgets_of(table)
    assert budgets == [30, 2, 6, 5, 20]
    with open(table, newline="") as f:
        last = [r for r in csv.DictReader(f) if r["arm"] == "coverage"][-1]
    assert sum(budgets) == int(last["labelled_before"])
