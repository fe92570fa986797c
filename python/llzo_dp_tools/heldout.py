"""A model's errors on a fixed held-out set of deepmd/npy systems, per system and per family:
the yardstick the active-learning loop scores every iteration's model with.

Energies are compared per atom (meV/atom), forces per component (meV/Å), both as root mean
squares over the frames (and components) of a system, a family or all of them. Beside the RMSE,
the signed mean energy error (model − reference, `mean_e`): a fit that moves every frame of one
composition together shows there as an offset, not as scatter. A system's family
is what `build_dataset.py` recorded for it (`<data>/done/<name>.json`, the system living in
`<data>/<split>/<name>`), else the system's own name.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import structures as L


def family_of(system: Path) -> str:
    record = Path(system).parent.parent / "done" / f"{Path(system).name}.json"
    if record.exists():
        return json.loads(record.read_text()).get("family", Path(system).name)
    return Path(system).name


def errors(dp, system: Path) -> tuple[np.ndarray, np.ndarray]:
    """(energy errors per atom and frame, force errors per component), in eV and eV/Å."""
    d = L.read_deepmd_npy(str(system))
    types = np.asarray(d["types"])
    n, nf = len(types), len(d["energy"])
    type_map = list(dp.get_type_map())
    mapped = np.array([type_map.index(d["type_map"][t]) for t in types])
    e, f, _v = dp.eval(np.asarray(d["coord"]).reshape(nf, -1), np.asarray(d["box"]).reshape(nf, 9), mapped)
    de = (np.ravel(e) - np.asarray(d["energy"])) / n
    df = np.asarray(f).reshape(nf, n, 3) - np.asarray(d["force"]).reshape(nf, n, 3)
    return de, df.ravel()


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if np.size(x) else float("nan")


def score(model: Path, systems: list[Path]) -> dict:
    """{"systems": {name: row}, "families": {family: row}, "all": row}, row = frames, rmse_e
    and mean_e (meV/atom), rmse_f (meV/Å)."""
    from deepmd.infer import DeepPot

    dp = DeepPot(str(model))
    per_system, grouped = {}, {}
    for s in systems:
        de, df = errors(dp, Path(s))
        per_system[Path(s).name] = row(de, df)
        g = grouped.setdefault(family_of(Path(s)), ([], []))
        g[0].append(de)
        g[1].append(df)
    families = {fam: row(np.concatenate(de), np.concatenate(df)) for fam, (de, df) in sorted(grouped.items())}
    everything = [(de, df) for de, df in grouped.values()]
    total = row(np.concatenate([x for de, _ in everything for x in de]),
                np.concatenate([x for _, df in everything for x in df]))
    return {"model": str(model), "systems": per_system, "families": families, "all": total}


def row(de: np.ndarray, df: np.ndarray) -> dict:
    mean_e = 1000.0 * float(np.mean(de)) if np.size(de) else float("nan")
    return {"frames": int(np.size(de)), "rmse_e": 1000.0 * rms(de), "mean_e": mean_e, "rmse_f": 1000.0 * rms(df)}
