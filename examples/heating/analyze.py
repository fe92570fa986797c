#!/usr/bin/env python3
"""Analysis of the NPT ladders written by run.py: heating and cooling branches side by side.

    python examples/heating/analyze.py RUN_DIR [--publish RESULTS_DIR]

RUN_DIR holds heating/ and/or cooling/ (one T<temp>/ per rung; a run made before branches
existed holds its rungs directly and is read as a heating branch). Writes into RUN_DIR:
lattice_vs_T.csv, summary.json, summary.md, lattice.png, series_<branch>.csv/.png (each rung's
2.5 ps blocks), xrd_<branch>.png, rdf_<branch>.png, coverage.png, and prints the table. --publish
copies the summary (summary.md, lattice_vs_T.csv, summary.json, lattice.png, the series, and
rungs/<branch>_T<temp>.json per rung; not the rungs' data) into RESULTS_DIR, e.g.
examples/heating/results/<name>: how the committed summaries there are made.

Per-rung measures and their errors: rung.py. On top of them:
- ordered: eta > ETA_ORDERED. The transition is the Li order-disorder transition; c/a follows it.
- melted: the La mean-squared displacement over production exceeds MSD_MELT_FACTOR times the
  crystal's MSD/T (median over the rungs at or below 900 K) times T.
- cubic: not melted and |1 - c/a| within 3 errors + CUBIC_TOL.
- Tc bracket: heating superheats (ordered Li needs hops to disorder) and cooling supercools, so
  the lowest temperature at which the heating branch is disordered is an upper bound on Tc and
  the highest at which the cooling branch is ordered is a lower bound. Rungs that failed the
  halves test are reported but do not set a bound.
- Tc of the simulated cell by equal time: near a first-order transition a finite cell switches
  between the two states, spending equal time in each at its own Tc(L); pooled_time_ordered and
  equal_time_tc read it from the rungs' block series (rung.time_ordered).
- thermal expansion: least-squares line of V and of the mean lattice constant over the rungs of
  one phase spanning at least MIN_EXPANSION_SPAN; alpha = slope / value at the middle of the fit
  range, error from the fit residuals.
"""

import csv
import json
import math
import os
import re
import sys
from pathlib import Path

import numpy as np

import rung as rung_mod
from llzo_dp_tools.structures import _atomic_write_text

ETA_ORDERED = 0.5
MSD_MELT_FACTOR = 2.0
CUBIC_TOL = 0.003
# a thermal expansion needs rungs of one phase this many K apart (rungs near Tc, 25 K apart, would
# give a slope from the transition's own fluctuations)
MIN_EXPANSION_SPAN = 150.0
BRANCHES = ("heating", "cooling")
# Literature values for the comparison table
EXPERIMENT = [(443, 13.145, 13.145, 12.706), (848, 13.197, 13.197, 12.864), (1248, 13.182, 13.182, 13.182)]
LITERATURE = [
    ("experiment (Larraz et al. 2013)", "≈ 918 K", "—"),
    ("experiment (in-situ lattice, Chen et al. 2015)", "≈ 899 K (volume jump ≈ +0.35 %)", "5.2e-5 /K (cubic 899–1248 K)"),
    ("DPMD, DFT-trained (You et al. 2024, the paper)", "≈ 900 K", "α ≈ 5.48e-5 /K (c-LLZO 1000–1500 K)"),
    ("NEP (Yan & Zhu 2024, 4×4×4)", "875–900 K", "—"),
]


def write_whole(path, text):
    """Temp file (unique per process: ladders may run side by side), then rename."""
    _atomic_write_text(path, text)


def branch_dirs(out):
    dirs = [(b, out / b) for b in BRANCHES if (out / b / "meta.json").exists()]
    return dirs or [("heating", out)]


def load_branch(name, path):
    meta = json.loads((path / "meta.json").read_text())
    cells = meta["cells"]
    li_ps = meta.get("li_every", 200) * meta.get("timestep_fs", 1.0) * 1e-3
    dirs = [d for d in path.glob("T[0-9]*") if (d / "lattice.dat").exists() or (d / "seg00").exists()]
    step_ps = meta.get("timestep_fs", 1.0) * 1e-3
    rows = [rung_mod.measure(d, cells, li_ps, step_ps) for d in sorted(dirs, key=lambda d: int(d.name[1:]))]
    for r in rows:
        r["branch"] = name
    return dict(name=name, meta=meta, rows=rows)


def classify(rows, cold_ref=None):
    """Melted / cubic / tetragonal and ordered / disordered per rung (module docstring)."""
    cold = [r["msd_La"] / r["T"] for r in rows if r["T"] <= 900]
    k = float(np.median(cold)) if cold else cold_ref
    for r in rows:
        r["melted"] = k is not None and r["msd_La"] > MSD_MELT_FACTOR * k * r["T"]
        ca, err = r["c_over_a"]
        err = err if math.isfinite(err) else 0.0
        r["cubic"] = (not r["melted"]) and abs(1 - ca) <= 3 * err + CUBIC_TOL
        r["phase"] = "melted" if r["melted"] else ("cubic" if r["cubic"] else "tetragonal")
        eta = r["eta"][0]
        r["order"] = "—" if math.isnan(eta) else ("ordered" if eta > ETA_ORDERED else "disordered")
    return k


def bracket(branches):
    """Tc bounds from the branches (module docstring); None where a branch gives none. The
    *_unsettled values are the same bounds read from all rungs, stationary or not."""
    tc = dict(lower=None, upper=None, lower_unsettled=None, upper_unsettled=None)
    for b in branches:
        heating = b["name"] == "heating"
        want = "disordered" if heating else "ordered"
        pick = min if heating else max
        rows = [r for r in b["rows"] if not r["melted"] and r["order"] == want]
        key = "upper" if heating else "lower"
        settled = [r["T"] for r in rows if r["stationary"]]
        tc[key] = pick(settled) if settled else None
        tc[key + "_unsettled"] = pick(r["T"] for r in rows) if rows else None
    lo, hi = tc["lower"], tc["upper"]
    tc["width"] = hi - lo if lo is not None and hi is not None else None
    return tc


def pooled_time_ordered(branches):
    """T -> (fraction of time ordered, error) over the rungs of both branches at T (not melted):
    their inverse-variance mean; rungs that never switched (no error) count only where no rung
    at T has an error, as their plain mean with no error."""
    by_t = {}
    for b in branches:
        for r in b["rows"]:
            f, e = r.get("time_ordered", (float("nan"), float("nan")))
            if not r.get("melted") and math.isfinite(f):
                by_t.setdefault(r["T"], []).append((f, e))
    out = {}
    for t, pts in sorted(by_t.items()):
        known = [(f, e) for f, e in pts if math.isfinite(e) and e > 0]
        if known:
            w = np.array([1 / e ** 2 for _, e in known])
            out[t] = (float(np.dot(w, [f for f, _ in known]) / w.sum()), float(w.sum() ** -0.5))
        else:
            out[t] = (float(np.mean([f for f, _ in pts])), float("nan"))
    return out


def equal_time_tc(branches):
    """Tc of the simulated cell where it spends equal time ordered and disordered: the pooled
    fraction of time ordered (pooled_time_ordered) crosses 1/2 between two neighbouring rung
    temperatures, linearly interpolated; its error from the two fractions' errors (an
    unknown error counts as 0 and is flagged; with both unknown there is none). No crossing: a
    bound."""
    pts = pooled_time_ordered(branches)
    ts = sorted(pts)
    res = dict(points={f"{t:g}": list(v) for t, v in pts.items()}, tc=None, err=None, between=None, bound=None,
               incomplete_errors=False)
    if not ts:
        return res
    for t1, t2 in zip(ts, ts[1:]):
        (f1, e1), (f2, e2) = pts[t1], pts[t2]
        if f1 >= 0.5 > f2:
            span, df = t2 - t1, f1 - f2
            known = [math.isfinite(e) for e in (e1, e2)]
            e1, e2 = (e if ok else 0.0 for e, ok in zip((e1, e2), known))
            err = math.hypot(span * (0.5 - f2) / df ** 2 * e1, span * (f1 - 0.5) / df ** 2 * e2)
            # neither end point has an error: there is no error estimate at all, not a zero one
            res.update(tc=t1 + (f1 - 0.5) / df * span, between=[t1, t2],
                       err=err if any(known) else None, incomplete_errors=not all(known))
            return res
    if all(pts[t][0] < 0.5 for t in ts):
        res["bound"] = f"below {ts[0]:g} K (disordered most of the time at every rung)"
    elif all(pts[t][0] >= 0.5 for t in ts):
        res["bound"] = f"above {ts[-1]:g} K (ordered most of the time at every rung)"
    else:
        res["bound"] = "no single crossing (the fraction does not fall with T)"
    return res


def equal_time_text(et):
    if et["tc"] is None:
        return f"none yet: {et['bound']}" if et["bound"] else "none yet (no rung with a block series)"
    between = f"between {et['between'][0]:g} and {et['between'][1]:g} K"
    if et["err"] is None:
        return f"{et['tc']:.0f} K ({between}; no error estimate: neither end point ever switched)"
    flag = " (an end point never switched: error incomplete)" if et["incomplete_errors"] else ""
    return f"{et['tc']:.0f} ± {et['err']:.0f} K ({between}){flag}"


def expansion(rows, phase):
    pts = [r for r in rows if r["phase"] == phase]
    if len(pts) < 2 or max(r["T"] for r in pts) - min(r["T"] for r in pts) < MIN_EXPANSION_SPAN:
        return None
    T = np.array([r["T"] for r in pts])
    Tm = 0.5 * (T.min() + T.max())
    out = dict(fit_range=[float(T.min()), float(T.max())], points=len(pts))
    series = (("volumetric", [r["V"][0] for r in pts]), ("linear", [(r["a"][0] + r["b"][0] + r["c"][0]) / 3 for r in pts]))
    for name, y in series:
        y = np.asarray(y)
        A = np.vstack([T - Tm, np.ones_like(T)]).T
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        slope, mid = coef
        slope_err = float("nan")
        if len(pts) > 2:
            s2 = float(np.sum((A @ coef - y) ** 2)) / (len(pts) - 2)
            slope_err = math.sqrt(s2 / np.sum((T - Tm) ** 2))
        out[name] = dict(alpha=float(slope / mid), alpha_err=float(slope_err / mid))
    return out


def fmt(v, d=4):
    m, e = v
    if math.isnan(m):
        return "—"
    return f"{m:.{d}f} ± {e:.{d}f}" if math.isfinite(e) else f"{m:.{d}f} (no error estimate)"


def sci(value, err):
    """A fitted value with its error; a two-point fit has none, and says so instead of '± nan'."""
    return f"{value:.2e} ± {err:.1e}" if math.isfinite(err) else f"{value:.2e} (two points: no error estimate)"


def bracket_text(tc):
    def bound(key, words):
        if tc[key] is not None:
            return f"{tc[key]:g} K ({words})"
        if tc.get(key + "_unsettled") is not None:
            return f"none yet ({words} at {tc[key + '_unsettled']:g} K in a rung that is not stationary)"
        return "none yet"
    width = f"; width {tc['width']:g} K" if tc["width"] is not None else ""
    return (f"lower bound {bound('lower', 'cooling branch ordered')}, "
            f"upper bound {bound('upper', 'heating branch disordered')}{width}")


CSV_COLUMNS = ["branch", "T_set_K", "T_K", "T_err", "segments", "stationary", "a_A", "a_err", "b_A", "b_err", "c_A",
               "c_err", "c_axis", "c_over_a", "c_over_a_err", "split_400_004_deg", "split_err", "V_cell_A3", "V_err",
               "eta", "eta_err", "time_ordered", "time_ordered_err", "occ_16f32g", "frac_oct_other", "hops_per_Li_ps",
               "msd_Li_A2", "coverage_mean", "coverage_min", "msd_La_A2", "order", "phase", "dumped_frames"]


def csv_row(r):
    pairs = [f"{x:.6g}" for k in ("a", "b", "c") for x in r[k]]
    return ([r["branch"], f"{r['T']:g}", *(f"{x:.5g}" for x in r["temp"]), r["segments"], r["stationary"], *pairs,
             r["c_axis"], *(f"{x:.6g}" for x in r["c_over_a"]), *(f"{x:.4g}" for x in r["split_deg"]),
             *(f"{x:.6g}" for x in r["V"]), *(f"{x:.4g}" for x in r["eta"]),
             *(f"{x:.4g}" for x in r.get("time_ordered", (float("nan"), float("nan")))), f"{r['occ_oct_ordered'][0]:.4g}",
             f"{r['frac_oct_other'][0]:.4g}", f"{r['hops_per_li_ps']:.4g}", f"{r['msd_Li']:.4g}",
             f"{r['coverage_mean']:.4f}", f"{r['coverage_min']:.4f}", f"{r['msd_La']:.4f}", r["order"], r["phase"],
             r["dumped_frames"]])


def write_csv(out, rows):
    tmp = out / ".lattice_vs_T.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow(csv_row(r))
    os.replace(tmp, out / "lattice_vs_T.csv")


SERIES_COLUMNS = ["T_set_K", "t_ps", "eta", "axis", "a_A", "b_A", "c_A", "c_over_a"]


def write_series_csv(out, b):
    """series_<branch>.csv: every rung's block series (rung.block_series)."""
    tmp = out / f".series_{b['name']}.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SERIES_COLUMNS)
        for r in b["rows"]:
            for x in r["series"]:
                w.writerow([f"{r['T']:g}", f"{x['t_ps']:g}", f"{x['eta']:.4f}", x["axis"], f"{x['a']:.5f}",
                            f"{x['b']:.5f}", f"{x['c']:.5f}", f"{x['c_over_a']:.5f}"])
    os.replace(tmp, out / f"series_{b['name']}.csv")


def table_lines(b):
    meta = b["meta"]
    lines = [f"### {b['name'].capitalize()} branch: from {meta.get('start', 'ordered t-LLZO')}", "",
             "| T (K) | segments | stationary | a (Å) | b (Å) | c (Å) | c/a | (400)/(004) split (°) | V/cell (Å³) "
             "| η | time ordered | 16f+32g occ. | Li hops /Li/ps | Li MSD (Å²) | coverage mean / min | La MSD (Å²) "
             "| order | phase |",
             "|" + "---|" * 18]
    for r in b["rows"]:
        lines.append(
            f"| {r['T']:g} | {r['segments']} | {'yes' if r['stationary'] else 'no'} | {fmt(r['a'])} | {fmt(r['b'])} | "
            f"{fmt(r['c'])} | {fmt(r['c_over_a'])} ({r['c_axis']}) | {fmt(r['split_deg'], 3)} | {fmt(r['V'], 1)} | "
            f"{fmt(r['eta'], 3)} | {fmt(r['time_ordered'], 2)} | {r['occ_oct_ordered'][0]:.2f} | {r['hops_per_li_ps']:.3f} | {r['msd_Li']:.2f} | "
            f"{r['coverage_mean']:.3f} / {r['coverage_min']:.3f} | {r['msd_La']:.3f} | {r['order']} | {r['phase']} |")
    return lines


def protocol_line(b):
    meta = b["meta"]
    costs = [c for r in b["rows"] for c in r["costs"]]
    if costs:
        hours = sum(c["seconds"] for c in costs) / 3600
        have_cpu = all("cpu_seconds" in c for c in costs)  # segments before CPU time was recorded
        spent = sum(c["cpu_seconds"] if have_cpu else c["seconds"] for c in costs)
        rate = spent * 1e6 / sum(c["steps"] for c in costs) / (192 * math.prod(meta["cells"]))
        costs = (f"Cost: {hours:.1f} h wall time for the branch, {rate:.0f} "
                 f"{'CPU' if have_cpu else 'wall-time'} µs per atom-step.")
    else:
        costs = ""
    return (f"NPT ({meta['barostat']}), dt {meta.get('timestep_fs', 1.0):g} fs, precision {meta.get('precision', 'auto')}; "
            f"per rung {meta['equil']} equilibration steps, then production in segments of {meta['prod']} steps "
            f"({meta.get('min_segments', 1)}–{meta.get('max_segments', 1)}) until its halves agree; box sampled every "
            f"{meta['every']} steps, Li every {meta.get('li_every', '—')} steps. {costs}")


def is_quick(meta):
    pdamp = re.search(r"Pdamp ([0-9.]+) ps", meta.get("barostat", ""))
    return bool(pdamp) and meta["equil"] * meta.get("timestep_fs", 1.0) * 1e-3 < 20 * float(pdamp.group(1))


def summary_lines(branches, tc, exps):
    first = branches[0]["meta"]
    natoms = 192 * math.prod(first["cells"])
    lines = [f"# NPT ladders of LLZO, {natoms} atoms ({'×'.join(map(str, first['cells']))}), model `{first['model']}`", ""]
    if any(is_quick(b["meta"]) for b in branches):
        lines += ["**A quick ladder: its rungs equilibrate for less than 20 barostat periods and heat an ordered "
                  "cell, so the transition it shows is an upper bound on Tc, not a measurement (the full protocol "
                  "and result: examples/heating/README.md).**", ""]
    for b in branches:
        lines += [protocol_line(b), ""] + table_lines(b) + [""]
    lines += [f"- **Tc bracket** (η > {ETA_ORDERED} ordered; stationary rungs only): {bracket_text(tc)}"]
    et = equal_time_tc(branches)
    lines += [f"- **Tc of this cell by equal time** (the fraction of 2.5 ps blocks with η ≥ "
              f"{rung_mod.ETA_BLOCK_ORDERED} crosses 1/2; both branches pooled per temperature): {equal_time_text(et)}"]
    for phase, e in exps.items():
        if e:
            ev, el = e["volumetric"], e["linear"]
            lines.append(f"- Thermal expansion, {phase} rungs {e['fit_range'][0]:g}–{e['fit_range'][1]:g} K "
                         f"({e['points']} points): volumetric {sci(ev['alpha'], ev['alpha_err'])} /K, "
                         f"linear {sci(el['alpha'], el['alpha_err'])} /K")
    melt = sorted({r["T"] for b in branches for r in b["rows"] if r["melted"]})
    lines += [f"- Melted (La MSD > {MSD_MELT_FACTOR:g} × the crystal's MSD/T × T): "
              f"{', '.join(f'{t:g} K' for t in melt) or 'none'}", "",
              "| source | t→c transition | expansion (cubic) |", "|---|---|---|",
              f"| **this run** (llzo_dp) | {bracket_text(tc)}; equal time: {equal_time_text(et)} | — |"]
    lines += [f"| {s} | {t} | {e} |" for s, t, e in LITERATURE]
    lines += ["", "![lattice](lattice.png)", ""]
    lines += [f"![{b['name']} series](series_{b['name']}.png)" for b in branches]
    lines += ["", "![coverage](coverage.png)", ""]
    return lines


def analyze(out):
    out = Path(out)
    branches = [load_branch(n, p) for n, p in branch_dirs(out)]
    branches = [b for b in branches if b["rows"]]
    if not branches:
        sys.exit(f"no finished rungs in {out}")
    cold_ref = None
    for b in branches:
        cold_ref = classify(b["rows"], cold_ref) or cold_ref
    tc = bracket(branches)
    rows = [r for b in branches for r in b["rows"]]
    exps = {p: expansion([r for r in rows if r["branch"] == "heating"] if p == "tetragonal" else rows, p)
            for p in ("tetragonal", "cubic")}
    write_csv(out, rows)
    for b in branches:
        write_series_csv(out, b)
    drop = ("rdf", "xrd")
    summary = dict(meta={b["name"]: b["meta"] for b in branches}, Tc_bracket=tc, Tc_equal_time=equal_time_tc(branches),
                   expansion=exps,
                   rungs=[{k: v for k, v in r.items() if k not in drop} for r in rows],
                   criteria=dict(eta_ordered=ETA_ORDERED, msd_melt_factor=MSD_MELT_FACTOR, cubic_tol=CUBIC_TOL))
    write_whole(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_whole(out / "summary.md", "\n".join(summary_lines(branches, tc, exps)))
    print(f"\n{'branch':>8} {'T (K)':>6} {'c/a':>22} {'eta':>22} {'hops/Li/ps':>10} {'order':>10} {'phase':>10} stat")
    for r in rows:
        print(f"{r['branch']:>8} {r['T']:>6g} {fmt(r['c_over_a']):>22} {fmt(r['eta'], 3):>22} "
              f"{r['hops_per_li_ps']:>10.3f} {r['order']:>10} {r['phase']:>10} {'yes' if r['stationary'] else 'no'}")
    print(f"\nTc: {bracket_text(tc)}")
    print(f"Tc of this cell by equal time: {equal_time_text(summary['Tc_equal_time'])}")
    try:
        import plots
        plots.all_plots(out, branches, tc)
        print(f"plots, lattice_vs_T.csv and summary.md in {out}")
    except ImportError as e:  # matplotlib missing: tables are still written
        print(f"no plots ({e})")
    return summary


# What --publish copies: the tables and the lattice plot (the run's one figure in results/).
SUMMARY_FILES = ("summary.md", "lattice_vs_T.csv", "summary.json", "lattice.png", *(f"series_{b}.{x}"
                 for b in BRANCHES for x in ("csv", "png")))


def publish(out, dest):
    """Copies a run's summary (SUMMARY_FILES) and one json per rung into dest, each file whole
    (temp + rename); the published summary.md links only the figures that are copied."""
    dest = Path(dest)
    (dest / "rungs").mkdir(parents=True, exist_ok=True)
    for name in SUMMARY_FILES:
        if not (Path(out) / name).exists():  # a run with one branch has one series
            continue
        data = (Path(out) / name).read_bytes()
        if name == "summary.md":
            lines = data.decode().split("\n")
            keep = [l for l in lines if not (l.startswith("![") and l.split("(")[-1].rstrip(")") not in SUMMARY_FILES)]
            data = (re.sub(r"\n{3,}", "\n\n", "\n".join(keep)).rstrip("\n") + "\n").encode()
        tmp = dest / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, dest / name)
    for r in json.loads((Path(out) / "summary.json").read_text())["rungs"]:
        write_whole(dest / "rungs" / f"{r['branch']}_T{int(round(r['T'])):04d}.json", json.dumps(r, indent=2) + "\n")
    print(f"summary of {out} copied to {dest}")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--publish", type=Path, metavar="RESULTS_DIR",
                    help="also copy the summary files into this directory")
    args = ap.parse_args()
    analyze(args.run_dir)
    if args.publish:
        publish(args.run_dir, args.publish)
