"""DeePMD-kit's own LAMMPS tests for PyTorch models, run against pair_style llzo_dp.

    source scripts/env.sh
    python scripts/deepmd_lmp_suite.py --source /path/to/deepmd-kit [--work DIR] [--out report.md]

`--source` is a checkout of DeePMD-kit at the pinned version (v3.2.0): its `source/lmp/tests`
(the tests) and `source/tests/infer` (their models; a `.pth` that a test names and the checkout
lacks is made from the `.yaml` of the same name by `dp convert-backend`, or else by the checkout's
own generator `gen_<name>.py`, e.g. gen_dpa2.py for deeppot_dpa2.pth). Both are copied into
the work directory, every `pair_style deepmd` of the PyTorch test files becomes `pair_style
llzo_dp` (the rest of each test, its systems and expected values, is DeePMD-kit's), and pytest
runs them in this environment, where the lammps module loads the llzo_dp plugin and TensorFlow,
JAX and Paddle are off (ENABLE_TENSORFLOW=0 ...: their tests and models skip themselves).

Not run, with the reason in the report: spin models (pair_style deepspin; llzo_dp has no spin)
and the `_pt2` tests (AOTInductor `.pt2` packages, which llzo_dp does not load). The report lists
every test with its outcome; a failure is a difference from `pair_style deepmd` unless the
README names the feature as refused.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

NOT_RUN = {
    "spin": "spin models (pair_style deepspin): llzo_dp has no spin",
    "_pt2": "AOTInductor .pt2 packages: llzo_dp loads TorchScript .pth only",
}
# the style name in pair_style / pair_coeff strings: "deepmd {model}", "... 0.5 deepmd {model}",
# "* * deepmd 1 H NULL" (a sub-style under hybrid)
PAIR_STYLE = re.compile(r'(["\s])deepmd (?=[{\d])')


def test_files(tests: Path) -> tuple[list[Path], dict[str, str]]:
    """The PyTorch test files to run, and those left out with the reason."""
    run, left = [], {}
    for f in sorted(tests.glob("test_*.py")):
        text = f.read_text()
        if ".pth" not in text or "pair_style" not in text:
            continue  # not a PyTorch pair-style test
        reason = next((why for key, why in NOT_RUN.items() if key in f.stem), None)
        if reason:
            left[f.name] = reason
        else:
            run.append(f)
    return run, left


def models_named(files: list[Path], infer: Path) -> set[Path]:
    names = set()
    for f in files:
        names.update(re.findall(r'"([\w.-]+\.pth)"', f.read_text()))
    return {infer / n for n in names}


def make_missing_models(models: set[Path]) -> list[str]:
    """Every named model the checkout lacks: `dp convert-backend X.yaml X.pth`, or the checkout's
    generator `gen_<name>.py` (deeppot_dpa2.pth -> gen_dpa2.py) run beside its models."""
    notes = []
    for m in sorted(models):
        if m.exists():
            continue
        yaml = m.with_suffix(".yaml")
        generator = m.parent / f"gen_{m.stem.removeprefix('deeppot_')}.py"
        if yaml.exists():
            cmd, origin = ["dp", "convert-backend", str(yaml), str(m)], yaml.name
        elif generator.exists():
            cmd, origin = [sys.executable, generator.name], generator.name
        else:
            notes.append(f"{m.name}: not in the checkout, with no {yaml.name} or {generator.name} to make it")
            continue
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=m.parent)
        last = p.stderr.strip().splitlines()[-1:]
        if not m.exists():
            notes.append(f"{m.name}: {origin} failed: {last}")
        elif p.returncode != 0:  # e.g. gen_dpa2.py writes the .pth, then fails on its .pt2 export
            notes.append(f"{m.name}: made by {origin} (which then stopped: {last})")
        else:
            notes.append(f"{m.name}: made by {origin}")
    return notes


def prepare(source: Path, work: Path) -> Path:
    """Copies the tests and their models into `work`; returns the tests directory."""
    for sub in ("source/lmp/tests", "source/tests/infer"):
        if not (source / sub).is_dir():
            sys.exit(f"{source} has no {sub}: give a DeePMD-kit checkout (v3.2.0)")
        dst = work / sub
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(source / sub, dst)
    return work / "source/lmp/tests"


def rewrite(files: list[Path]) -> int:
    """The style name deepmd -> llzo_dp in each file's pair styles; returns the count."""
    count = 0
    for f in files:
        text, n = PAIR_STYLE.subn(r'\1llzo_dp ', f.read_text())
        f.write_text(text)
        count += n
    return count


def outcomes(junit: Path) -> list[tuple[str, str, str]]:
    """(test, outcome, message) from pytest's junit XML."""
    rows = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{Path(case.get('file') or case.get('classname', '').replace('.', '/')).stem}::{case.get('name')}"
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[kind]
                message = (node.get("message") or "").strip().splitlines()[0][:200] if node.get("message") else ""
                break
        rows.append((name, outcome, message))
    return rows


def report(rows, left: dict[str, str], notes: list[str], source: Path) -> str:
    counts = {k: sum(1 for _, o, _ in rows if o == k) for k in ("passed", "failed", "error", "skipped")}
    lines = [f"# DeePMD-kit's LAMMPS tests (PyTorch) against pair_style llzo_dp", "",
             f"Tests from `{source}`; " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".", ""]
    lines += [f"- {n}" for n in notes]
    lines += ["", "| test | outcome | message |", "|---|---|---|"]
    lines += [f"| {t} | {o} | {m.replace('|', '/')} |" for t, o, m in rows]
    lines += ["", "Not run:", ""] + [f"- {f}: {why}" for f, why in left.items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, required=True, help="a DeePMD-kit checkout (v3.2.0)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/llzo_dp_deepmd_lmp_suite"))
    ap.add_argument("--out", type=Path, help="the report (markdown); printed when left out")
    ap.add_argument("-k", dest="select", help="pytest -k expression")
    a = ap.parse_args(argv)
    source, work = a.source.resolve(), a.work.resolve()
    tests = prepare(source, work)
    files, left = test_files(tests)
    notes = make_missing_models(models_named(files, work / "source/tests/infer"))
    notes.append(f"{rewrite(files)} pair_style lines rewritten to llzo_dp in {len(files)} files")
    env = dict(os.environ, ENABLE_TENSORFLOW="0", ENABLE_JAX="0", ENABLE_PADDLE="0", ENABLE_PYTORCH="1",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
               # liblammps finds the mpich wheel's libmpi in the venv's lib/ only through this
               LD_LIBRARY_PATH=os.pathsep.join(filter(None, [str(Path(sys.prefix) / "lib"),
                                                             os.environ.get("LD_LIBRARY_PATH")])))
    junit = work / "junit.xml"
    # --tb=line: formatting a long traceback through these files' large literal arrays trips
    # Python 3.11's parser ("AST constructor recursion depth mismatch")
    cmd = [sys.executable, "-m", "pytest", "-q", "--tb=line", "-p", "no:cacheprovider", f"--junitxml={junit}",
           *(["-k", a.select] if a.select else []), *[f.name for f in files]]
    subprocess.run(cmd, cwd=tests, env=env)
    text = report(outcomes(junit), left, notes, source)
    if a.out:
        tmp = a.out.with_name(f".{a.out.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, a.out)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
