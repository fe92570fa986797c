"""The paper's method as a loop: explore with the current model and its coverage monitor, choose
the frames it dumped, label them, retrain from the current model, rebuild the coverage reference
from the grown training set, and repeat until the exploration's mean frame coverage reaches the
target.

    python -m llzo_dp_tools.active_learning --work DIR --model M.pth --template input.json \\
        --data0 SYSTEM... --method chgnet [--iterations 4] [--budget 20] [--quick]

`--criterion` picks the frames to label (`selection`): `coverage` (the paper's, the default),
`deviation` (DP-GEN's: frames sampled every `--sample-every` steps whose force deviation over
the model and its `--ensemble` lies between `--trust-lo` and `--trust-hi`; every member is
fine-tuned each iteration with its own seed) or `random` (sampled frames at random). The
monitor runs in every arm, so the arms' coverage and their models' errors compare at equal
label budgets: `--budgets-from` another arm's directory labels as many frames per iteration as
that arm did. Every criterion chooses among the frames that pass `frame_filter` (volume per atom
within `--max-volume-change` of the start, no atoms closer than `--min-contact`); a run whose
cell leaves 1.5 times that volume bound is halted.

DIR/iter_NNN/ holds one iteration: explore/ (one directory per condition: LAMMPS input, log,
the monitor's frames), chosen.json, label/ (deepmd/npy systems), train/ (input, logs, model.pth),
coverage_reference.json, and record.json, written last: an iteration with a record is finished
and is skipped when the command is run again; an unfinished one resumes at its first unfinished
stage (each stage skips what it already wrote). DIR/summary.csv has one row per iteration.
Jobs (exploration runs, training) go through dpdispatcher: this machine's shell by default,
or the machine description given by --machine (JSON: {"machine": ..., "resources": ...}).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import time
from pathlib import Path

from . import exploration as X
from . import frame_filter, heldout, labelling, training
from .structures import _atomic_write_text as write_whole
from .selection import at_random, by_coverage, by_deviation, read_model_devi

def cli() -> Path:
    """The llzo-dp command: $LLZO_DP_CLI, else the one on PATH, else this checkout's build."""
    import shutil
    found = os.environ.get("LLZO_DP_CLI") or shutil.which("llzo-dp")
    return Path(found) if found else Path.cwd() / "target" / "release" / "llzo-dp"

# NPT (aniso, 1 bar) through the transition and up to melting, plus the melt at the crystal's
# density (NVT): a model that has not seen the liquid swells its 2000 K NPT cell until the run
# halts, and frames from beyond the volume limit are never labelled, so without the fixed-volume
# melt the liquid would never enter the training set
FULL_CONDITIONS = [X.Condition(f"T{t}_{'x'.join(map(str, c))}", t, c, steps=5000, seed=100 + k)
                   for k, (t, c) in enumerate([(t, c) for t in (300, 600, 900, 1200, 1500, 2000)
                                               for c in ((1, 1, 1), (2, 1, 1))])]
FULL_CONDITIONS += [X.Condition(f"T2000_{'x'.join(map(str, c))}_nvt", 2000.0, c, ensemble="nvt", steps=5000,
                                seed=112 + k) for k, c in enumerate(((1, 1, 1), (2, 1, 1)))]
QUICK_CONDITIONS = [X.Condition("T1500_1x1x1", 1500.0, (1, 1, 1), ensemble="nvt", steps=60, seed=3)]


def build_reference(model: Path, systems: list[Path], out: Path) -> float:
    """`llzo-dp coverage build` from the training systems; returns its cost in seconds."""
    if out.exists():
        return 0.0
    t0 = time.time()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    p = subprocess.run([str(cli()), "coverage", "build", "--model", str(model), "-o", str(tmp), *map(str, systems)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"coverage build failed: {p.stderr[-2000:]}")
    os.replace(tmp, out)
    return time.time() - t0


def sampling(a) -> X.Sampling:
    if a.criterion == "coverage":
        return X.Sampling()
    names = tuple(f"ens_{j + 1}.pth" for j in range(len(a.ensemble))) if a.criterion == "deviation" else ()
    return X.Sampling(every=a.sample_every, ensemble=names)


def choose(k: int, a, stage: Path, names: list[str]) -> tuple[list[str], dict[str, int]]:
    """Keys ("condition:step") of the frames to label, by the loop's criterion, among the frames
    that pass `frame_filter`; and the number rejected by it per condition."""
    start = {n: X.start_volume_per_atom(stage / n) for n in names}
    if a.criterion == "coverage":
        pool = X.candidates(stage, names, cli())
    elif a.criterion == "deviation":
        pool = [r for n in names for r in read_model_devi(stage / n / "model_devi.out", f"{n}:")]
    else:
        pool = [f"{n}:{step}" for n in names for step in sorted(X.trajectory_frames(stage / n))]
    keys = [p if isinstance(p, str) else p.key for p in pool]
    passed, rejected = frame_filter.kept(dict(zip(keys, frames_at(a, stage, keys))), start, a.limits)
    passed = set(passed)
    pool = [p for p, key in zip(pool, keys) if key in passed]
    budget = budget_at(a, k)
    if a.criterion == "coverage":
        return [c.key for c in by_coverage(pool, budget, a.min_distance)], rejected
    if a.criterion == "deviation":
        return [r.key for r in by_deviation(pool, a.trust_lo, a.trust_hi, budget, seed=1000 + k)], rejected
    return at_random(pool, budget, seed=1000 + k), rejected


def budgets_of(work: Path) -> list[int]:
    """The frames another arm labelled per iteration (its records' `chosen`, up to the iteration
    that converged or chose none: that one labels nothing). `work` may also be the table
    `plots.py` writes (`al_iterations.csv`): there the coverage arm's budgets are the steps of its
    `labelled_before` column, so a fresh clone can match the committed run without its directory."""
    if Path(work).is_file():
        with open(work, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("arm", "coverage") == "coverage"]
        labelled = [int(r["labelled_before"]) for r in sorted(rows, key=lambda r: int(r["iteration"]))]
        return [b - a for a, b in zip(labelled, labelled[1:])]
    budgets = []
    for rec in sorted(Path(work).glob("iter_*/record.json")):
        r = json.loads(rec.read_text())
        if r["converged"] or r["chosen"] == 0:
            break
        budgets.append(int(r["chosen"]))
    return budgets


def budget_at(a, k: int) -> int:
    """Iteration k's label budget: `--budget`, or with `--budgets-from` the other arm's count at k
    (0 past its last labelled iteration, so that the last iteration only explores and scores)."""
    budgets = getattr(a, "budgets", None)
    if budgets is None:
        return a.budget
    return budgets[k] if k < len(budgets) else 0


def frames_at(a, stage: Path, keys: list[str]) -> list:
    """The frames of the keys: the monitor's dumps (coverage) or the sampled trajectory frames."""
    if a.criterion == "coverage":
        return [s for key in keys for s in labelling.read_frames(X.frame_dir(stage, key))]
    trajectories = {}
    out = []
    for key in keys:
        name, step = key.rsplit(":", 1)
        if name not in trajectories:
            trajectories[name] = X.trajectory_frames(stage / name)
        out.append(trajectories[name][int(step)])
    return out


def mean_coverage(per_condition: list[float]) -> float:
    """The exploration's mean frame coverage over its conditions; a condition with no monitored
    step (nan) covered nothing and counts as 0, so it can never carry the loop to its target."""
    if not per_condition:
        return 0.0
    return sum(c if c == c else 0.0 for c in per_condition) / len(per_condition)


def score_heldout(it: Path, model: Path, tests: list[Path]) -> dict | None:
    """The model's errors on the held-out systems, computed once per iteration (heldout.json)."""
    if not tests:
        return None
    out = it / "heldout.json"
    if not out.exists():
        write_whole(out, json.dumps(heldout.score(model, tests), indent=2) + "\n")
    return json.loads(out.read_text())


def iteration(k: int, a, model: Path, members: list[Path], systems: list[Path]) -> dict:
    """One explore -> choose -> label -> train -> reference round; returns its record."""
    it = a.work / f"iter_{k:03d}"
    it.mkdir(parents=True, exist_ok=True)
    ref_cost = build_reference(model, systems, it / "coverage_reference.json")
    scores = score_heldout(it, model, a.test)
    conditions = QUICK_CONDITIONS if a.quick else FULL_CONDITIONS
    names = [c.name for c in conditions]
    t0 = time.time()
    sampled = sampling(a)
    X.prepare(it / "explore", conditions, a.monitor, model, it / "coverage_reference.json", sampled, tuple(members),
              frame_filter.volume_bound(a.limits))
    X.dispatch(it / "explore", names, machine=a.machine_desc, parallel=a.parallel, sampling=sampled)
    explore_s = time.time() - t0
    coverage = [X.mean_coverage(it / "explore" / n) for n in names]
    chosen, rejected = choose(k, a, it / "explore", names)
    write_whole(it / "chosen.json", json.dumps(chosen) + "\n")
    record = dict(iteration=k, criterion=a.criterion, model=str(model), mean_coverage=mean_coverage(coverage),
                  coverage_per_condition=dict(zip(names, coverage)), chosen=len(chosen),
                  ended_early=[n for n in names if X.ended_early(it / "explore" / n)],
                  halted=[n for n in names if X.halted(it / "explore" / n)], rejected=rejected,
                  training_systems=len(systems), reference_build_s=round(ref_cost, 1), explore_s=round(explore_s, 1))
    if scores:
        record["heldout_e"], record["heldout_f"] = scores["all"]["rmse_e"], scores["all"]["rmse_f"]
        record["heldout_families"] = scores["families"]
    if not chosen or record["mean_coverage"] >= a.target:
        record["converged"] = record["mean_coverage"] >= a.target
        record["next_model"], record["next_ensemble"] = str(model), [str(m) for m in members]
        return record
    frames = frames_at(a, it / "explore", chosen)
    t0 = time.time()
    new = labelling.write_systems(frames, labelling.label(frames, a.method, a.work / "label_cache"), it / "label")
    record["label_s"] = round(time.time() - t0, 1)
    t0 = time.time()
    cfg = training.training_input(a.template, systems + new, [], steps=a.steps, seed=1000 + k, fine_tune=True)
    record["next_model"] = str(training.train(it / "train", cfg, init_model=model, machine=a.machine_desc))
    record["next_ensemble"] = []
    for j, member in enumerate(members):  # DP-GEN's ensemble: the same data, each its own seed
        cfg = training.training_input(a.template, systems + new, [], steps=a.steps, seed=2000 + 10 * k + j,
                                      fine_tune=True)
        record["next_ensemble"].append(str(training.train(it / f"train_m{j + 1}", cfg, init_model=member,
                                                          machine=a.machine_desc)))
    record["train_s"] = round(time.time() - t0, 1)
    record["converged"] = False
    return record


SUMMARY_COLUMNS = ["iteration", "criterion", "mean_coverage", "heldout_e", "heldout_f", "chosen", "training_systems",
                   "explore_s", "label_s", "train_s", "reference_build_s", "converged", "next_model"]


def write_summary(work: Path, records: list[dict]) -> None:
    tmp = work / f".summary.{os.getpid()}.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SUMMARY_COLUMNS)
        for r in records:
            w.writerow([r.get(c, "") if not isinstance(r.get(c), float) else f"{r[c]:.6g}" for c in SUMMARY_COLUMNS])
    os.replace(tmp, work / "summary.csv")
    rows = [(r["iteration"], fam, v) for r in records for fam, v in r.get("heldout_families", {}).items()]
    if rows:
        tmp = work / f".heldout.{os.getpid()}.tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["iteration", "family", "frames", "rmse_e_meV_atom", "mean_e_meV_atom", "rmse_f_meV_A"])
            for k, fam, v in rows:
                # records written before the signed mean was scored have none
                mean_e = f"{v['mean_e']:.4g}" if "mean_e" in v else ""
                w.writerow([k, fam, v["frames"], f"{v['rmse_e']:.4g}", mean_e, f"{v['rmse_f']:.4g}"])
        os.replace(tmp, work / "heldout.csv")


def run(a) -> list[dict]:
    a.work.mkdir(parents=True, exist_ok=True)
    model, systems, records = a.model.resolve(), [p.resolve() for p in a.data0], []
    members = [p.resolve() for p in a.ensemble] if a.criterion == "deviation" else []
    for k in range(a.iterations):
        done = a.work / f"iter_{k:03d}" / "record.json"
        if done.exists():
            r = json.loads(done.read_text())
        else:
            r = iteration(k, a, model, members, systems)
            write_whole(done, json.dumps(r, indent=2) + "\n")
        records.append(r)
        write_summary(a.work, records)
        held = f", held-out force RMSE {r['heldout_f']:.1f} meV/A" if "heldout_f" in r else ""
        print(f"iteration {k}: mean coverage {r['mean_coverage']:.4f}{held}, {r['chosen']} frames chosen"
              + (" (converged)" if r["converged"] else ""), flush=True)
        if r["converged"] or r["chosen"] == 0:
            break
        model, members = Path(r["next_model"]), [Path(m) for m in r.get("next_ensemble", [])]
        systems = systems + sorted(p for p in (a.work / f"iter_{k:03d}" / "label").glob("sys_*"))
    return records


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True, help="the model of iteration 0 (trained on --data0)")
    ap.add_argument("--template", type=Path, required=True, help="DeePMD-kit training input of that model")
    ap.add_argument("--data0", type=Path, nargs="+", required=True, help="deepmd/npy systems of Data 0")
    ap.add_argument("--method", default="chgnet", help="reference method: chgnet, sevennet or dp:MODEL.pth")
    ap.add_argument("--test", type=Path, nargs="*", default=[],
                    help="held-out deepmd/npy systems: every iteration's model is scored on them (heldout.csv)")
    ap.add_argument("--iterations", type=int, default=4)
    ap.add_argument("--budget", type=int, default=20, help="frames labelled per iteration")
    ap.add_argument("--budgets-from", type=Path,
                    help="another arm's work directory, or the al_iterations.csv of the coverage arm: label as many "
                         "frames per iteration as it did (equal budgets), "
                         "then explore once more with the last model")
    ap.add_argument("--min-distance", type=float, default=0.1, help="de-duplication radius (scaled PCA fingerprint)")
    ap.add_argument("--target", type=float, default=0.995, help="stop when the mean frame coverage reaches this")
    ap.add_argument("--steps", type=int, default=20000, help="training steps per iteration")
    ap.add_argument("--threshold", type=float, default=0.95, help="the monitor's dump threshold")
    ap.add_argument("--parallel", type=int, default=1, help="exploration runs at a time on this machine")
    ap.add_argument("--machine", type=Path, help="dpdispatcher machine description (JSON)")
    ap.add_argument("--criterion", choices=("coverage", "deviation", "random"), default="coverage",
                    help="which frames are labelled (module docstring)")
    ap.add_argument("--ensemble", type=Path, nargs="*", default=[],
                    help="deviation: the other models of the ensemble at iteration 0 (same architecture as --model)")
    ap.add_argument("--sample-every", type=int, default=100, help="deviation, random: steps between sampled frames")
    ap.add_argument("--trust-lo", type=float, default=0.05, help="deviation: lower trust level of max_devi_f (eV/Å)")
    ap.add_argument("--trust-hi", type=float, default=0.30, help="deviation: upper trust level of max_devi_f (eV/Å)")
    ap.add_argument("--max-volume-change", type=float, default=frame_filter.FrameLimits.max_volume_change,
                    help="frames whose volume per atom is further than this from the start are not labelled (frame_filter)")
    ap.add_argument("--min-contact", type=float, default=frame_filter.FrameLimits.min_distance,
                    help="frames with two atoms closer than this (Å) are not labelled")
    ap.add_argument("--quick", action="store_true", help="one 60-step exploration, a few training steps")
    a = ap.parse_args(argv)
    if a.criterion == "deviation" and not a.ensemble:
        ap.error("--criterion deviation needs --ensemble: one or more other models trained on Data 0")
    if a.sample_every < 1:
        ap.error("--sample-every must be at least 1")
    if a.quick:
        a.steps = min(a.steps, 20)
        a.budget = min(a.budget, 3)
        a.sample_every = min(a.sample_every, 10)
    a.budgets = None
    if a.budgets_from:
        a.budgets = budgets_of(a.budgets_from)
        if not a.budgets:
            ap.error(f"--budgets-from {a.budgets_from}: no labelled iteration there (iter_*/record.json, "
                     "or rows of the coverage arm in an al_iterations.csv)")
        a.iterations = len(a.budgets) + 1
    a.monitor = X.MonitorSettings(every=10, threshold=a.threshold, max_frames=max(3, a.budget), min_gap=20 if a.quick else 100)
    a.limits = frame_filter.FrameLimits(a.max_volume_change, a.min_contact)
    a.machine_desc = json.loads(a.machine.read_text()) if a.machine else None
    run(a)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
