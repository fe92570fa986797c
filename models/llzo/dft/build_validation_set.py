"""The held-out DFT validation set: 96-atom LLZO cells that no model was trained on.

Families (frames): crystal t-LLZO displaced 0.03-0.10 A rms at the experimental, PBE-literature and
a strained cell (4); the E(c/a) curve of t-LLZO at the experimental volume with the reference
fractional coordinates kept (7, c/a 0.94 ... 1.00); MD with the shipped model at 300, 900 and
1500 K (4 each, 1 ps apart after 2 ps); Li-disordered cells (3: 1500 K frames of a cubic-metric
cell, minimised); amorphous (4: three from a 3000 K melt, one quenched to 300 K; their Zr pairs
collapse to 0.9-1.3 A, so the labeller leaves them out) and amorphous from a melt with a ZBL
repulsion overlaid (5: four 0.5 ps apart at 3000 K, one quenched to 300 K). MD is NVT
(Nose-Hoover, 1 fs) in LAMMPS with pair_style llzo_dp; seeds fixed. Writes frames.json here.

    python build_validation_set.py                   # every group
    python build_validation_set.py --only zbl_melt   # one group, merged into frames.json
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from llzo_dp_tools import lammps as LMP
from llzo_dp_tools import structures as L

HERE = Path(__file__).resolve().parent
# the MD frames of the committed set came from the model shipped on 2026-11-27 (`git show
# dd68127:models/llzo/llzo_dp_model.pth`); with today's shipped model a rerun draws other frames
MODEL = HERE.parent / "llzo_dp_model.pth"
A_EXP, C_EXP = L.LATTICES["exp"]
V_CONV = A_EXP * A_EXP * C_EXP  # conventional cell volume (2 x the primitive cell's)
CA_SERIES = (0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1.00)


def rattled(s: L.Structure, sigma: float, seed: int, name: str, family: str) -> L.Structure:
    rng = np.random.default_rng(seed)
    return L.Structure(s.cell, s.positions + rng.normal(0, sigma, s.positions.shape), s.symbols,
                       {"name": name, "family": family})


def at_ca(ca: float, volume_scale: float = 1.0) -> L.Structure:
    """Primitive t-LLZO at c/a = ca and volume V_exp * volume_scale, fractional coordinates kept."""
    a = (V_CONV * volume_scale / ca) ** (1 / 3)
    return L.primitive_tllzo((a, a * ca))


def crystal_frames() -> list[L.Structure]:
    strained = L.primitive_tllzo((A_EXP, C_EXP * 1.02))
    return [rattled(L.primitive_tllzo("exp"), 0.05, 1, "crystal_exp_r05", "crystal"),
            rattled(L.primitive_tllzo("exp"), 0.10, 2, "crystal_exp_r10", "crystal"),
            rattled(L.primitive_tllzo("dft"), 0.03, 3, "crystal_pbe_r03", "crystal"),
            rattled(strained, 0.05, 4, "crystal_c+2pct_r05", "crystal")]


def ca_frames() -> list[L.Structure]:
    out = []
    for ca in CA_SERIES:
        s = at_ca(ca)
        s.info = {"name": f"ca_{ca:.2f}", "family": "c_over_a", "c_over_a": ca}
        out.append(s)
    return out


def md(start: L.Structure, steps: list[tuple[float, float, int]], dump_every: int, seed: int,
       minimize_dumps: bool = False, pair: list[str] | None = None) -> list[L.Structure]:
    """NVT stages (T_start, T_end, n_steps) from `start`; the frames dumped in the last stage
    (minimised at fixed cell when asked). `pair`: the pair_style and pair_coeff lines, the
    shipped model alone by default."""
    with tempfile.TemporaryDirectory(prefix="dftval-md-") as work:
        work = Path(work)
        L.write_lammps_data(str(work / "start.data"), start)
        stages = []
        for k, (t0, t1, n) in enumerate(steps):
            last = k == len(steps) - 1
            stages += [f"fix nvt all nvt temp {t0} {t1} 0.1",
                       f"dump d all custom {dump_every} md.dump id type x y z" if last else "",
                       f"dump_modify d sort id" if last else "", f"run {n}", "unfix nvt"]
        script = "\n".join([
            "units metal", "atom_style atomic", "boundary p p p", "read_data start.data",
            *(pair or [f"pair_style llzo_dp {MODEL}", "pair_coeff * * Li La Zr O"]), "timestep 0.001",
            f"velocity all create {steps[0][0]} {seed} mom yes rot no dist gaussian",
            "thermo 500", *stages]) + "\n"
        run = LMP.lammps(work, script, timeout=3600)
        if run.returncode != 0:
            raise RuntimeError(f"LAMMPS failed: {run.errors()[:3]}\n{run.output[-2000:]}")
        frames = []
        for f in LMP.read_dump(work / "md.dump")[1:]:  # the first dump is the stage's start
            symbols = [L.TYPE_MAP[int(t) - 1] for t in f["type"]]
            s = L.Structure(f["box"], np.stack([f["x"], f["y"], f["z"]], 1), symbols)
            frames.append(minimise(s) if minimize_dumps else s)
        return frames


def minimise(s: L.Structure) -> L.Structure:
    with tempfile.TemporaryDirectory(prefix="dftval-min-") as work:
        work = Path(work)
        L.write_lammps_data(str(work / "start.data"), s)
        script = "\n".join([
            "units metal", "atom_style atomic", "boundary p p p", "read_data start.data",
            f"pair_style llzo_dp {MODEL}", "pair_coeff * * Li La Zr O",
            "min_style fire", "minimize 0 1e-3 2000 20000",
            "write_dump all custom min.dump id type x y z modify sort id"]) + "\n"
        run = LMP.lammps(work, script, timeout=3600)
        if run.returncode != 0:
            raise RuntimeError(f"LAMMPS failed: {run.errors()[:3]}")
        f = LMP.read_dump(work / "min.dump")[-1]
        return L.Structure(f["box"], np.stack([f["x"], f["y"], f["z"]], 1),
                           [L.TYPE_MAP[int(t) - 1] for t in f["type"]])


def tagged(frames, family: str, stem: str, **info) -> list[L.Structure]:
    for k, s in enumerate(frames):
        s.info = {"name": f"{stem}_{k}", "family": family, **info}
    return frames


# The shipped model has no short-range repulsion: its own 3000 K melt pulls atoms to 0.9-1.3 A.
# Screened-nuclear (ZBL) repulsion overlaid on it keeps a melt physical for DFT: between all
# pairs below 1.75 A (LLZO's shortest bond, Li-O, is 1.82 A), and between the heavy cations
# (La, Zr) below 3.3 A (3.58 A and more in LLZO; 3.3 A and more in any La or Zr oxide).
Z = {"Li": 3, "La": 57, "Zr": 40, "O": 8}
ZBL_ALL = (1.4, 1.75)
ZBL_CATIONS = (2.9, 3.3)


def with_repulsion() -> list[str]:
    lines = [f"pair_style hybrid/overlay llzo_dp {MODEL} zbl {ZBL_ALL[0]} {ZBL_ALL[1]} "
             f"zbl {ZBL_CATIONS[0]} {ZBL_CATIONS[1]}", "pair_coeff * * llzo_dp Li La Zr O"]
    for i, a in enumerate(L.TYPE_MAP, 1):
        for j, b in enumerate(L.TYPE_MAP, 1):
            if j >= i:
                lines.append(f"pair_coeff {i} {j} zbl 1 {Z[a]} {Z[b]}")
                if {a, b} <= {"La", "Zr"}:
                    lines.append(f"pair_coeff {i} {j} zbl 2 {Z[a]} {Z[b]}")
    return lines


def repulsive_melt_frames() -> list[L.Structure]:
    """Amorphous frames from a 3000 K melt with the ZBL overlay: four 0.5 ps apart, one quenched
    to 300 K and one quenched and minimised."""
    melt = md(at_ca(1.0, 1.10), [(3000, 3000, 3000), (3000, 3000, 2000)], 500, 25, pair=with_repulsion())
    quench = md(melt[-1], [(3000, 300, 4000), (300, 300, 1000)], 1000, 26, pair=with_repulsion())
    return (tagged(melt, "amorphous", "amorphous_zbl_3000K") + tagged(quench[-1:], "amorphous", "amorphous_zbl_quenched"))


def md_frames() -> list[L.Structure]:
    out = []
    # 300 K: tetragonal at the experimental cell; 900 and 1500 K: cubic metric, volume +1 % and +3 %
    for temp, cell, seed in ((300, L.primitive_tllzo("exp"), 11), (900, at_ca(1.0, 1.01), 12),
                             (1500, at_ca(1.0, 1.03), 13)):
        out += tagged(md(cell, [(temp, temp, 2000), (temp, temp, 4000)], 1000, seed), f"md_{temp}K",
                      f"md_{temp}K", temperature=temp)
    disordered = md(at_ca(1.0, 1.0), [(1500, 1500, 3000), (1500, 1500, 3000)], 1000, 14, minimize_dumps=True)
    out += tagged(disordered, "li_disordered", "li_disordered")
    melt = md(at_ca(1.0, 1.10), [(3000, 3000, 4000), (3000, 3000, 3000)], 1000, 15)
    quench = md(melt[-1], [(3000, 300, 5000), (300, 300, 1000)], 1000, 16)
    out += tagged(melt, "amorphous", "amorphous_3000K") + tagged(quench[-1:], "amorphous", "amorphous_quenched")
    return out


GROUPS = {"crystal": lambda: crystal_frames(), "c_over_a": lambda: ca_frames(), "md": lambda: md_frames(),
          "zbl_melt": lambda: repulsive_melt_frames()}


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=sorted(GROUPS),
                    help="build these groups only and merge them into frames.json (frames of the same name "
                         "are replaced, the others kept: their DFT labels stay valid)")
    a = ap.parse_args(argv)
    frames = [s for g in (a.only or GROUPS) for s in GROUPS[g]()]
    doc = [{"name": s.info["name"], "family": s.info["family"], "cell": s.cell.tolist(),
            "positions": s.positions.tolist(), "symbols": list(s.symbols),
            **{k: v for k, v in s.info.items() if k not in ("name", "family")}} for s in frames]
    path = HERE / "frames.json"
    if a.only and path.exists():
        new = {d["name"] for d in doc}
        doc = [d for d in json.loads(path.read_text()) if d["name"] not in new] + doc
    fd, tmp = tempfile.mkstemp(dir=HERE, prefix=".frames.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)
    fams = {}
    for d in doc:
        fams[d["family"]] = fams.get(d["family"], 0) + 1
    print(f"{len(doc)} frames -> {path}: {fams}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
