"""models/llzo/train/rdf.py end to end on a few steps: DPMD of the 96-atom cell at 1200 and 3000 K
against the committed reference-method RDFs, written as rdf.png and rdf_summary.json."""
import importlib
import json
import sys

from checkout import ROOT, TEST_MODEL

TRAIN = ROOT / "models" / "llzo" / "train"


def test_rdf_script_writes_its_figure_and_summary(tmp_path):
    sys.path.insert(0, str(TRAIN))
    try:
        rdf = importlib.import_module("rdf")
        assert rdf.main(["--model", str(TEST_MODEL), "--reference", "sevennet", "--steps-1200", "10",
                         "--steps-3000", "10", "--out", str(tmp_path)]) == 0
    finally:
        sys.path.remove(str(TRAIN))
    summary = json.loads((tmp_path / "rdf_summary.json").read_text())
    assert summary["reference"] == "sevennet" and set(summary["runs"]) == {"1200K", "3000K"}
    for run in summary["runs"].values():
        assert run["frames"] == 2 and set(run["L1_diff"]) == set(summary["pairs"])
        assert all(x > 0 for x in run["L1_diff"].values())  # 10 steps of a barely trained model: not the reference
    assert (tmp_path / "rdf.png").stat().st_size > 10_000
