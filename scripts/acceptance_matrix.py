"""The whole acceptance matrix of tests/test_acceptance_matrix.py, with its report.

    source scripts/env.sh
    python scripts/acceptance_matrix.py [--out tests/acceptance_matrix.md] [-k EXPR [--merge]]

Runs every case of the module, the `matrix`-marked ones that the test command leaves out
included (each descriptor in float64 and float32 against DeepPot and against pair_style deepmd
on orthogonal and triclinic cells, 1, 2 and 4 ranks), and writes a table of each case's outcome
and the figure it printed. Exits non-zero when a case fails. `-k EXPR --merge` reruns the cases
EXPR selects and puts their rows into the existing report in place of the old ones, with a line
that says which cases were rerun at which commit.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "tests" / "test_acceptance_matrix.py"


def cases(junit: Path) -> list[tuple[str, str, str]]:
    """(case, outcome, the lines it printed) from pytest's junit XML."""
    rows = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome = "passed"
        for kind, word in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            node = case.find(kind)
            if node is not None:
                outcome = word
                if kind != "skipped":
                    outcome += ": " + (node.get("message") or "").strip().splitlines()[0][:160]
                break
        out = case.findtext("system-out") or ""
        printed = "; ".join(line.strip() for line in out.splitlines() if " vs " in line or "itself" in line)
        rows.append((case.get("name"), outcome, printed))
    return rows


def head_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "this tree"


def report(rows, seconds: float, head: str) -> str:
    passed = sum(1 for _, o, _ in rows if o == "passed")
    lines = ["# Acceptance matrix: every descriptor against DeepPot and pair_style deepmd", "",
             f"`python scripts/acceptance_matrix.py` at {head}, {date.today()}: "
             f"{passed} of {len(rows)} cases passed in {seconds / 60:.0f} min (2-core CPU machine).", "",
             "Cases, bounds and models: tests/test_acceptance_matrix.py. Relative figures are the largest",
             "difference over the largest value; |dF| in eV/Å.", "",
             "| case | outcome | measured |", "|---|---|---|"]
    lines += [row_line(*r) for r in rows]
    return "\n".join(lines) + "\n"


def row_line(case: str, outcome: str, printed: str) -> str:
    return f"| {case} | {outcome.replace('|', '/')} | {printed.replace('|', '/')} |"


def collected() -> set[str]:
    """The case names the module has now (pytest --collect-only)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", "-m",
                          "matrix or not matrix", str(MODULE)],
                         cwd=ROOT / "tests", capture_output=True, text=True).stdout
    return {line.split("::", 1)[1] for line in out.splitlines() if "::" in line}


def merged(old: str, rows, select: str, head: str) -> str:
    """`old` with the rows of the rerun cases replaced, the rows of cases the module no longer has
    left out, and a line saying so."""
    new = {case: row_line(case, o, m) for case, o, m in rows}
    now = collected()
    lines, dropped = [], []
    for line in old.splitlines():
        case = line.split(" | ")[0].removeprefix("| ")
        if line.startswith("| test_") and case not in now:
            dropped.append(case)
            continue
        lines.append(new.get(case, line))
    at = lines.index("| case | outcome | measured |")
    passed = sum(1 for line in lines[at + 2:] if " | passed | " in line)
    note = (f"Rerun at {head}, {date.today()} (`-k \"{select}\" --merge`): "
            + ", ".join(f"{c} {o.split(':')[0]}" for c, o, _ in rows)
            + (f"; no longer in the module: {', '.join(dropped)}" if dropped else "")
            + f". Now {passed} of {len(lines) - at - 2} passed.")
    return "\n".join(lines[:at] + [note, ""] + lines[at:]) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "acceptance_matrix.md")
    ap.add_argument("-k", dest="select", help="pytest -k expression (the report then lists only those)")
    ap.add_argument("--merge", action="store_true", help="with -k: replace those cases' rows in the existing report")
    a = ap.parse_args(argv)
    if a.merge and not (a.select and a.out.exists()):
        ap.error("--merge needs -k and an existing report")
    junit = a.out.with_name(f".{a.out.stem}.junit.xml")
    # no -s: pytest captures what each case prints, and the junit report carries it to the table
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "matrix or not matrix",
           "-o", "junit_logging=system-out", f"--junitxml={junit}", *(["-k", a.select] if a.select else []), str(MODULE)]
    start, head = time.monotonic(), head_commit()
    rc = subprocess.run(cmd, cwd=ROOT / "tests").returncode
    rows = cases(junit)
    text = merged(a.out.read_text(), rows, a.select, head) if a.merge else report(rows, time.monotonic() - start, head)
    junit.unlink()
    tmp = a.out.with_name(f".{a.out.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, a.out)
    print(text)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
