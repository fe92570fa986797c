"""What one rung of an NPT ladder measured: read from its segments, averaged with honest errors.

A rung directory T<temp>/ holds production segments seg00/, seg01/, ... (in.heating output each:
lattice.dat, li.dump, rdf.dat, xrd.dat, uncertain/); a rung written before segments existed
holds those files itself. Definitions:
- errors: the mean's error from the integrated autocorrelation time (llzo_dp_tools.timeseries);
  nan ("no estimate") when the series is too short to see its own correlation.
- eta: Li-sublattice order parameter occ(8a) - occ(16e) over the 24d tetrahedra, unique axis
  chosen per snapshot to maximise it (llzo_dp_tools.li_order): 1 for ordered t-LLZO, about 0 when
  the tetrahedral Li is disordered. The octahedral occupancies (t-LLZO's 16f + 32g, and the
  fraction of Li elsewhere in the cages: c-LLZO's 96h) come with it.
- c axis: the unique axis eta picks most often over the rung; a and b are the other two. c/a is
  the time average of c(t) / mean(a(t), b(t)) with that axis fixed, so a cubic cell reads 1 within
  its error (the shortest axis of each sample would read below 1).
- (400)/(004) splitting: 2theta(004) - 2theta(400) (Cu K-alpha) from the same box lengths, the
  peak positions a diffractometer would see for the time-averaged lattice.
- Li hops: arrivals at another site (24d tetrahedron or octahedral cage) between consecutive
  snapshots, per Li per ps (a lower bound on the hop rate: a hop and its return between two
  snapshots are not seen); Li MSD: from the unwrapped positions over production, centre-of-mass
  drift removed.
- stationary: the first and second halves of production agree within 2 combined errors for
  eta and each box length (timeseries.halves).
- block series: production cut into BLOCK_PS blocks, each with its mean eta, the unique axis its
  snapshots pick most often, the box lengths per conventional cell and c/a along that axis. Near
  Tc a 2x2x2 cell switches between an ordered tetragonal and a disordered cubic state on a 10-20
  ps scale, which the rung means blur and these show.
- time ordered: the fraction of blocks with eta >= ETA_BLOCK_ORDERED, its error from the
  indicator's integrated autocorrelation time (so a rung that switched only once or twice reads
  with a large error, or none). ETA_BLOCK_ORDERED sits between the block means of the two states
  seen at 850-875 K (ordered 0.3-0.5, disordered 0.1-0.2).
"""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from llzo_dp_tools.lammps import read_dump
from llzo_dp_tools.li_order import li_order, site_hops
from llzo_dp_tools.timeseries import halves, mean_error

WAVELENGTH = 1.541838  # A, Cu K-alpha as in.heating's compute xrd
HALVES_OF = ("eta", "lx", "ly", "lz")
BLOCK_PS = 2.5
ETA_BLOCK_ORDERED = 0.25


def segments(rung_dir: Path) -> list[Path]:
    segs = sorted(Path(rung_dir).glob("seg[0-9][0-9]"))
    return segs or [Path(rung_dir)]


def segment_samples(rung_dir: Path) -> list[np.ndarray]:
    """lattice.dat of each segment, in order: T step temp lx ly lz vol pe press coverage msd_La."""
    return [np.loadtxt(s / "lattice.dat", comments="#", ndmin=2) for s in segments(rung_dir)]


def samples(rung_dir: Path) -> np.ndarray:
    """lattice.dat of every segment, in order, as one array."""
    return np.concatenate(segment_samples(rung_dir))


def li_frames(rung_dir: Path) -> list[dict]:
    """Li snapshots of every segment, in order; a continued segment's first snapshot repeats the
    previous segment's last one and is dropped."""
    frames = []
    for k, s in enumerate(segments(rung_dir)):
        if (s / "li.dump").exists():
            f = read_dump(s / "li.dump")
            for frame in f:
                frame["segment"] = k
            frames += f[1:] if k > 0 and frames else f
    for f in frames:
        cols = ("xu", "yu", "zu") if "xu" in f else ("x", "y", "z")
        f["pos"] = np.column_stack([f[c] for c in cols])
    return frames


def vector_average(rung_dir: Path, name: str):
    """rdf.dat / xrd.dat (fix ave/* mode vector): the last block of each segment, averaged."""
    blocks = [read_vector_file(s / name) for s in segments(rung_dir) if (s / name).exists()]
    return np.mean(blocks, axis=0) if blocks else None


def read_vector_file(path):
    """The last block of a fix ave/time (mode vector) or ave/histo file, as an array of rows.
    Each block starts with a header line "timestep nrows ..." followed by nrows rows."""
    rows = [l.split() for l in Path(path).read_text().splitlines() if l.strip() and not l.startswith("#")]
    out, i = None, 0
    while i < len(rows):
        n = int(float(rows[i][1]))
        out = np.array(rows[i + 1:i + 1 + n], float)
        i += 1 + n
    return out


def order_series(frames, cells) -> dict:
    """Per-snapshot Li order measures of a rung."""
    orders = [li_order(f["box"], f["pos"], ["Li"] * len(f["pos"]), dims=cells) for f in frames]
    return {k: np.array([getattr(o, k) for o in orders]) for k in
            ("eta", "axis", "occ_oct_ordered", "frac_tet", "frac_oct_other")}


def two_theta(length: float, h: int = 4) -> float:
    """2theta (degrees) of the (h00) reflection for a cell edge `length`."""
    return math.degrees(2 * math.asin(WAVELENGTH * h / (2 * length)))


def lattice_measures(d: np.ndarray, cells, c_axis: int) -> dict:
    """a, b, c (x, y, z), the cell along the ordering axis (c_len) and across it (a_len), c/a, V
    and the (400)/(004) splitting, each (mean, error)."""
    abc = d[:, 3:6] / np.asarray(cells, float)
    others = [k for k in range(3) if k != c_axis]
    a_mean = abc[:, others].mean(axis=1)
    ratio = abc[:, c_axis] / a_mean
    split = np.array([two_theta(c) - two_theta(a) for c, a in zip(abc[:, c_axis], a_mean)])
    est = dict(a=mean_error(abc[:, 0]), b=mean_error(abc[:, 1]), c=mean_error(abc[:, 2]),
               c_len=mean_error(abc[:, c_axis]), a_len=mean_error(a_mean), c_over_a=mean_error(ratio), split_deg=mean_error(split),
               V=mean_error(d[:, 6] / math.prod(cells)), temp=mean_error(d[:, 2]), pe=mean_error(d[:, 7]),
               press=mean_error(d[:, 8]))
    return {k: v.pair() for k, v in est.items()}


def li_motion(frames, cells, ps_per_frame: float) -> dict:
    """Li MSD over production (COM drift removed) and hops per Li per ps."""
    if len(frames) < 2:
        return dict(msd_Li=float("nan"), hops_per_li_ps=float("nan"))
    disp = frames[-1]["pos"] - frames[0]["pos"]
    disp -= disp.mean(axis=0)
    hops, _ = site_hops([(f["box"], f["pos"]) for f in frames], cells)
    span = ps_per_frame * (len(frames) - 1)
    return dict(msd_Li=float((disp ** 2).sum(axis=1).mean()),
                hops_per_li_ps=float(hops / (len(frames[0]["pos"]) * span)))


def halves_test(d: np.ndarray, eta) -> dict:
    """Halves test of a rung's production (eta, when there are snapshots, and the box lengths)."""
    series = dict(lx=d[:, 3], ly=d[:, 4], lz=d[:, 5])
    if eta is not None:
        series["eta"] = eta
    tests = {k: halves(series[k]) for k in HALVES_OF if k in series}
    verdict = all(t.agree for t in tests.values())
    words = []
    for k, t in tests.items():
        mark = {True: "ok", False: "DIFFER", None: "no error estimate"}[t.agree]
        words.append(f"{k} {t.first.mean:.4f}/{t.second.mean:.4f} {mark}")
    return dict(stationary=bool(verdict), halves={k: t.as_dict() for k, t in tests.items()},
                line=("stationary" if verdict else "not stationary") + " (halves: " + ", ".join(words) + ")")


def block_series(parts: list[np.ndarray], frames, o, cells, step_ps: float) -> list[dict]:
    """The rung's production in BLOCK_PS blocks (module docstring): t_ps (block end), eta, axis,
    a/b/c per conventional cell (x, y, z) and c/a along the block's axis. Blocks are cut within
    each segment, whose first sample is the state it starts from (not counted)."""
    steps = int(round(BLOCK_PS / step_ps))
    out, offset = [], 0.0
    for k, d in enumerate(parts):
        start, length = d[0, 1], d[-1, 1] - d[0, 1]
        box_block = ((d[:, 1] - start - 1) // steps).astype(int)
        mine = [i for i, f in enumerate(frames) if f.get("segment", 0) == k]
        li_block = ((np.array([frames[i]["step"] for i in mine]) - start - 1) // steps).astype(int)
        abc = d[:, 3:6] / np.asarray(cells, float)
        for b in range(int(box_block.max()) + 1):
            lengths = abc[box_block == b].mean(axis=0)
            sel = np.array(mine, int)[li_block == b]
            if len(sel):
                eta, axis = float(o["eta"][sel].mean()), int(Counter(o["axis"][sel].tolist()).most_common(1)[0][0])
            else:
                eta, axis = float("nan"), int(np.argmin(lengths))
            others = [i for i in range(3) if i != axis]
            out.append(dict(t_ps=round(offset + min((b + 1) * steps, length) * step_ps, 6), eta=eta, axis="xyz"[axis],
                            a=float(lengths[0]), b=float(lengths[1]), c=float(lengths[2]),
                            c_over_a=float(lengths[axis] / lengths[others].mean())))
        offset += length * step_ps
    return out


def time_ordered(series: list[dict]) -> tuple[float, float]:
    """Fraction of blocks with eta >= ETA_BLOCK_ORDERED and its error (nan: no estimate)."""
    flags = np.array([b["eta"] >= ETA_BLOCK_ORDERED for b in series if math.isfinite(b["eta"])], float)
    if len(flags) == 0:
        return float("nan"), float("nan")
    if flags.min() == flags.max():  # never switched: the error is not measurable from this rung
        return float(flags[0]), float("nan")
    return mean_error(flags).pair()


def stationarity(rung_dir: Path, cells) -> dict:
    """halves_test of the rung's production so far."""
    frames = li_frames(rung_dir)
    return halves_test(samples(rung_dir), order_series(frames, cells)["eta"] if frames else None)


def measure(rung_dir: Path, cells, li_every_ps: float, step_ps: float = 1e-3) -> dict:
    """Everything analyze.py reports for one rung."""
    rung_dir = Path(rung_dir)
    parts = segment_samples(rung_dir)
    d = np.concatenate(parts)
    frames = li_frames(rung_dir)
    r = dict(T=float(d[0, 0]), samples=len(d), segments=len(segments(rung_dir)),
             coverage_mean=float(np.mean(d[:, 9])), coverage_min=float(np.min(d[:, 9])), msd_La=float(d[-1, 10]))
    o = order_series(frames, cells) if frames else None
    if frames:
        c_axis = Counter(o["axis"].tolist()).most_common(1)[0][0]
        r.update(eta=mean_error(o["eta"]).pair(), eta_frames=len(frames),
                 occ_oct_ordered=mean_error(o["occ_oct_ordered"]).pair(), frac_tet=mean_error(o["frac_tet"]).pair(),
                 frac_oct_other=mean_error(o["frac_oct_other"]).pair(), **li_motion(frames, cells, li_every_ps))
    else:  # no Li snapshots: the shortest mean axis stands in for the unique axis
        c_axis = int(np.argmin(d[:, 3:6].mean(axis=0)))
        nan2 = (float("nan"), float("nan"))
        r.update(eta=nan2, eta_frames=0, occ_oct_ordered=nan2, frac_tet=nan2, frac_oct_other=nan2,
                 msd_Li=float("nan"), hops_per_li_ps=float("nan"))
    r["c_axis"] = "xyz"[c_axis]
    r["series"] = block_series(parts, frames, o, cells, step_ps)
    r["time_ordered"] = time_ordered(r["series"])
    r.update(lattice_measures(d, cells, c_axis))
    r.update({k: v for k, v in halves_test(d, o["eta"] if frames else None).items() if k != "line"})
    record = rung_dir / "rung.json"
    r["costs"] = json.loads(record.read_text()).get("costs", []) if record.exists() else []
    r["rdf"] = vector_average(rung_dir, "rdf.dat")
    r["xrd"] = vector_average(rung_dir, "xrd.dat")
    frames_csv = [s / "uncertain" / "coverage.csv" for s in segments(rung_dir)]
    r["dumped_frames"] = sum(sum(1 for l in f.read_text().splitlines()[1:] if l.split(",")[-1].strip() == "1")
                             for f in frames_csv if f.exists())
    return r
