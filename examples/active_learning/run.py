"""The paper's loop from its Data 0, on this project's data: train the paper's architecture on
the crystal systems alone, then run `llzo_dp_tools.active_learning` from that model, scoring every
iteration's model on the fixed held-out test split of all families.

    python examples/active_learning/run.py [--criterion coverage|deviation|random] [--work DIR]
        [--data models/llzo/train/data-sevennet] [--method sevennet] [--data0-steps 8000]
        [--data0-only] [extra active_learning options...]

Data 0 is `<data>/training/crys_*` (t/c-LLZO, the simple compounds, the strained cells); the
held-out set is every system of `<data>/test/` (crystal, hot MD, amorphous, slab, close contacts),
never trained on. The Data 0 model is `<work>/data0/model.pth` (trained once, `--data0-steps`,
seed 1); for the deviation criterion three more members are trained on Data 0 with other seeds.
The random and deviation arms label as many frames per iteration as the coverage arm did
(`--budgets-from runs/coverage` when that arm has run in this clone, else the committed
`results/al_iterations.csv`), then explore once more with their last model. Everything resumes:
a finished model is not trained again, finished iterations are skipped.
When the loop ends, its last model is checked as a shipping candidate against the labels' method
(`models/llzo/shipping_checks.py`: 0 K lattice and c/a, E(V), E(c/a), Li-disordered cells) into
`<work>/candidate/`, unless `--no-validate`.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from llzo_dp_tools import active_learning, training
from llzo_dp_tools.structures import _atomic_write_text as write_whole

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# the coverage arm's committed per-iteration table (plots.py): the other arms' label budgets
COMMITTED_TABLE = HERE / "results" / "al_iterations.csv"


def data0_systems(data: Path) -> list[Path]:
    return sorted(p for p in (data / "training").glob("crys_*") if p.is_dir())


def test_systems(data: Path) -> list[Path]:
    return sorted(p for p in (data / "test").iterdir() if p.is_dir() and not p.name.startswith("."))


def data0_model(work: Path, template: Path, systems: list[Path], steps: int, seed: int, name: str) -> Path:
    cfg = training.training_input(template, systems, [], steps=steps, seed=seed)
    return training.train(work / name, cfg, init_model=None)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--criterion", choices=("coverage", "deviation", "random"), default="coverage")
    ap.add_argument("--work", type=Path, help="default: examples/active_learning/runs/<criterion>")
    ap.add_argument("--data", type=Path, default=ROOT / "models/llzo/train/data-sevennet")
    ap.add_argument("--method", default="sevennet", help="the labels' method (the data's own)")
    ap.add_argument("--template", type=Path, default=HERE / "input_paper.json")
    ap.add_argument("--data0-steps", type=int, default=8000)
    ap.add_argument("--data0-only", action="store_true", help="train the Data 0 model(s), then stop")
    ap.add_argument("--no-validate", action="store_true", help="skip the shipping checks of the last model")
    a, rest = ap.parse_known_args(argv)
    # every arm starts from the same Data 0 model: it lives beside the arms' directories
    runs = HERE / "runs"
    work = (a.work or runs / a.criterion).resolve()
    data0, tests = data0_systems(a.data), test_systems(a.data)
    model = data0_model(runs, a.template, data0, a.data0_steps, 1, "data0")
    members = []
    if a.criterion == "deviation":
        members = [data0_model(runs, a.template, data0, a.data0_steps, 1 + j, f"data0_m{j}") for j in (1, 2, 3)]
    if a.data0_only:
        return 0
    # the protocol of README.md; options given on the command line come later and win
    protocol = ["--budget", "30", "--steps", "2000", "--iterations", "8"]
    args = ["--work", str(work), "--model", str(model), "--template", str(a.template),
            "--data0", *map(str, data0), "--test", *map(str, tests), "--method", a.method,
            "--criterion", a.criterion, *protocol, *rest]
    if members:
        args += ["--ensemble", *map(str, members)]
    if a.criterion != "coverage" and "--budgets-from" not in rest:
        # equal label budgets: as many frames per iteration as the coverage arm labelled, in
        # this clone's run or else in the committed one
        coverage_arm = runs / "coverage"
        if (coverage_arm / "iter_000" / "record.json").exists():
            args += ["--budgets-from", str(coverage_arm)]
        elif COMMITTED_TABLE.exists():
            args += ["--budgets-from", str(COMMITTED_TABLE)]
    rc = active_learning.main(args)
    if rc == 0 and not a.no_validate:
        validate(work, a.method)
    return rc


def validate(work: Path, method: str) -> None:
    """The shipping checks of the newest model the loop produced, written to <work>/candidate/."""
    records = sorted(work.glob("iter_*/record.json"))
    if not records:
        return
    last = Path(json.loads(records[-1].read_text())["next_model"])
    out, stamp = work / "candidate", work / "candidate" / "checked_model.txt"
    if stamp.exists() and stamp.read_text().strip() == str(last):
        return
    out.mkdir(exist_ok=True)
    (out / "shipping_checks.json").unlink(missing_ok=True)
    # the checks exit 1 when the model fails one: a result to report, not an error
    subprocess.run([sys.executable, str(ROOT / "models/llzo/shipping_checks.py"), "--model", str(last),
                    "--reference", method, "--out", str(out)])
    if not (out / "shipping_checks.json").exists():
        raise RuntimeError(f"the shipping checks of {last} wrote nothing: see the output above")
    write_whole(stamp, f"{last}\n")  # after the checks' files: it says they are this model's
    checks = json.loads((out / "shipping_checks.json").read_text())["checks"]
    failed = [c["check"] for c in checks if not c["pass"]]
    print(f"candidate {last}: " + (f"fails {', '.join(failed)}" if failed else "passes the shipping checks"))


if __name__ == "__main__":
    sys.exit(main())
