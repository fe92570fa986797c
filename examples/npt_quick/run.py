"""The README's main job (short version): minimise t-LLZO, then NPT at a few temperatures,
and print the lattice table. Uses the shipped LLZO model when present, else the test model.

    python examples/npt_quick/run.py [--cells 1 1 1] [--temps 300 900 1500] [--steps 300]
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from lammps_run import LMP, tllzo, write_data  # noqa: E402

SHIPPED = ROOT / "examples" / "model" / "llzo_dp_model.pth"
SHIPPED_DATA = ROOT / "examples" / "model" / "data" / "training"
TEST_MODEL = ROOT / "tests" / "data" / "test_model" / "test_model.pth"
TEST_DATA = ROOT / "tests" / "data" / "test_model" / "data" / "training"
CLI = ROOT / "target" / "release" / "llzo-dp"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, nargs=3, default=[1, 1, 1])
    ap.add_argument("--temps", type=float, nargs="+", default=[300, 900, 1500])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    model = Path(a.model) if a.model else (SHIPPED if SHIPPED.exists() else TEST_MODEL)
    if model == TEST_MODEL:
        print("note: the shipped LLZO model is not built yet; using the small test model")
    training = SHIPPED_DATA if model == SHIPPED else TEST_DATA
    work = Path(tempfile.mkdtemp(prefix="llzo_npt_"))
    # coverage reference of the model's training set, for the in-run monitor
    subprocess.run([str(CLI), "coverage", "build", "--model", str(model), "-o", str(work / "reference.json"),
                    str(training)], check=True, capture_output=True)
    coverage = (f"coverage {work / 'reference.json'} coverage_every 50 coverage_threshold 0.5 "
                f"coverage_dir {work / 'uncertain_frames'}")
    cell, pos, types = tllzo(*a.cells)
    write_data(work / "system.data", cell, pos, types)
    temps = " ".join(f"{t:g}" for t in a.temps)
    cmd = [str(LMP), "-in", str(Path(__file__).parent / "in.npt_ladder"), "-log", "log.lammps",
           "-var", "model", str(model), "-var", "data", "system.data", "-var", "temps", temps,
           "-var", "steps", str(a.steps), "-var", "coverage", coverage]
    print(f"running {len(pos)} atoms, T = {temps} K, {a.steps} NPT steps each, in {work}")
    p = subprocess.run(cmd, cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        err = [l for l in p.stdout.splitlines() if "ERROR" in l]
        sys.exit(f"LAMMPS failed: {err or p.stdout[-2000:]}")
    rows = re.findall(r"^LATTICE T (\S+) lx (\S+) ly (\S+) lz (\S+) vol (\S+)", p.stdout, re.M)
    n = a.cells
    print(f"\n{'T (K)':>7} {'a (Å)':>9} {'b (Å)':>9} {'c (Å)':>9} {'c/a':>7} {'V (Å^3)':>10}")
    for t, lx, ly, lz, vol in rows:
        aa, bb, cc = float(lx) / n[0], float(ly) / n[1], float(lz) / n[2]
        print(f"{float(t):>7.0f} {aa:>9.4f} {bb:>9.4f} {cc:>9.4f} {cc / (0.5 * (aa + bb)):>7.4f} {float(vol):>10.1f}")
    print("\n(lattice per conventional cell, end of each NPT block; experiment at 443 K: a = 13.145, c = 12.706 Å)")
    csv_path = work / "uncertain_frames" / "coverage.csv"
    if csv_path.exists():
        rows = [l.split(",") for l in csv_path.read_text().splitlines()]
        print(f"\ncoverage of local environments by the training set (every 50 steps; {csv_path}):")
        print("  " + " ".join(f"{h:>8}" for h in rows[0]))
        for r in rows[1:]:
            print("  " + " ".join(f"{v:>8}" for v in r))


if __name__ == "__main__":
    main()
