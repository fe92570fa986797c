"""The active-learning loop end to end, quick: explore with the coverage monitor, choose, label
(the test model as the reference), fine-tune, record; run again, nothing is redone."""
import csv
import json

from checkout import ROOT, TEST_MODEL
from llzo_dp_tools import active_learning

DATA = ROOT / "tests" / "data" / "test_model" / "data"


def test_quick_loop_runs_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("LLZO_DP_CLI", str(ROOT / "target" / "release" / "llzo-dp"))
    work = tmp_path / "al"
    args = ["--work", str(work), "--model", str(TEST_MODEL), "--template", str(DATA.parent / "input.json"),
            "--data0", *map(str, sorted(p for p in (DATA / "training").iterdir() if p.is_dir())),
            "--method", f"dp:{TEST_MODEL}", "--iterations", "1", "--threshold", "1.0", "--quick"]
    assert active_learning.main(args) == 0
    it = work / "iter_000"
    record = json.loads((it / "record.json").read_text())
    assert 0.0 < record["mean_coverage"] < 1.0 and 1 <= record["chosen"] <= 3
    assert (it / "train" / "model.pth").exists() and record["next_model"] == str(it / "train" / "model.pth")
    labelled = sorted((it / "label").glob("sys_*"))
    assert labelled and all((s / "set.000" / "force.npy").exists() for s in labelled)
    rows = list(csv.DictReader(open(work / "summary.csv")))
    assert [r["iteration"] for r in rows] == ["0"]
    stamp = (it / "record.json").stat().st_mtime_ns
    assert active_learning.main(args) == 0  # finished iterations are read, not rerun
    assert (it / "record.json").stat().st_mtime_ns == stamp
