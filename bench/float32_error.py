"""What `precision float32` costs in accuracy on LLZO, for a model (default: the shipped one):
forces of float32 against float64 on thermalised t-LLZO frames (192 atoms, from NVT at 600 and
1500 K), and the total-energy drift of a 2 ps NVE run (1 fs) in each precision from the same
start. Prints a table and writes bench/results/float32_error_<model>.csv.

    python bench/float32_error.py [--model models/llzo/llzo_dp_model.pth]
"""

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np

from llzo_dp_tools.lammps import lammps, read_dump, tllzo, write_data

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "target" / "release" / "libllzo_dp.so"
PRECISIONS = ("float64", "float32")


def frames(work: Path, model: Path, temps=(600, 1500)) -> list[Path]:
    """A thermalised frame per temperature (NVT 1 ps in float64), as LAMMPS data files."""
    write_data(work / "start.data", *tllzo())
    out = []
    for t in temps:
        r = lammps(work / f"T{t}", f"""units metal
atom_style atomic
read_data ../start.data
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
velocity all create {2 * t} 7 mom yes rot yes dist gaussian
fix nvt all nvt temp {t} {t} 0.1
timestep 0.001
run 1000
write_data frame.data
""", plugin=PLUGIN)
        assert r.returncode == 0, r.output[-2000:]
        out.append(work / f"T{t}" / "frame.data")
    return out


def forces(work: Path, model: Path, data: Path, precision: str) -> np.ndarray:
    r = lammps(work, f"""units metal
atom_style atomic
read_data {data}
pair_style llzo_dp {model} precision {precision}
pair_coeff * * Li La Zr O
dump d all custom 1 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
run 0
""", plugin=PLUGIN)
    assert r.returncode == 0, r.output[-2000:]
    d = read_dump(work / "dump.txt")[0]
    return np.stack([d["fx"], d["fy"], d["fz"]], axis=1)


def nve_drift(work: Path, model: Path, data: Path, precision: str) -> tuple[float, float]:
    """Drift (linear fit, eV/atom over the run) and largest excursion of the total energy."""
    r = lammps(work, f"""units metal
atom_style atomic
read_data {data}
pair_style llzo_dp {model} precision {precision}
pair_coeff * * Li La Zr O
velocity all create 1200 11 mom yes rot yes dist gaussian
fix nve all nve
timestep 0.001
thermo_style custom step etotal
thermo_modify format float %.15g
thermo 20
run 2000
""", plugin=PLUGIN)
    assert r.returncode == 0, r.output[-2000:]
    t, n = r.runs[0], 192
    slope = np.polyfit(t["Step"] * 0.001, t["TotEng"], 1)[0] / n
    return abs(slope) * 2.0, (t["TotEng"].max() - t["TotEng"].min()) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "llzo" / "llzo_dp_model.pth"))
    a = ap.parse_args()
    model = Path(a.model).resolve()
    work = Path(tempfile.mkdtemp(prefix="llzo_f32_"))
    rows = []
    for t, data in zip((600, 1500), frames(work, model)):
        f = {p: forces(work / f"f_{t}_{p}", model, data, p) for p in PRECISIONS}
        diff = np.abs(f["float32"] - f["float64"])
        rows.append((f"forces {t} K", diff.max() / np.abs(f["float64"]).max(),
                     np.sqrt((diff ** 2).mean()) / np.sqrt((f["float64"] ** 2).mean())))
    for p in PRECISIONS:
        drift, spread = nve_drift(work / f"nve_{p}", model, work / "start.data", p)
        rows.append((f"NVE 2 ps {p}", drift, spread))
    print(f"model {model.name}: precision float32 against float64, 192-atom t-LLZO")
    print(f"{'quantity':<18} {'value':>12} {'second':>12}")
    for name, x, y in rows:
        print(f"{name:<18} {x:>12.2e} {y:>12.2e}")
    print("forces: max |dF| / max |F| and RMS dF / RMS F; NVE: drift and largest excursion of the total "
          "energy, eV/atom")
    out = ROOT / "bench" / "results" / f"float32_error_{model.stem}.csv"
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["quantity", "value", "second"])
        for name, x, y in rows:
            w.writerow([name, f"{x:.4e}", f"{y:.4e}"])
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
