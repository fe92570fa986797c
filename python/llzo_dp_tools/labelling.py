"""The labelling stage of active learning: energies, forces and virials of chosen frames from a
reference method, cached by frame, written as deepmd/npy systems ready for `dp --pt train`.

Methods: "chgnet" and "sevennet" (llzo_dp_tools.reference; installed by `scripts/setup.sh
--reference`), or "dp:MODEL.pth", a DeePMD-kit model through DeePMD-kit's own ASE calculator
(a teacher model, or a stand-in reference in tests). Each frame's labels are cached under
`cache/<method key>/<frame hash>.npz` (written whole), so an interrupted batch resumes where it
stopped and a frame chosen twice is labelled once. Frames with the same atoms in the same order
go into one system.

    python -m llzo_dp_tools.labelling --method chgnet --cache DIR -o OUT SYSTEM_DIR...
"""
from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

import numpy as np

from . import structures as L


def method_key(method: str) -> str:
    if method.startswith("dp:"):
        digest = hashlib.sha256(Path(method[3:]).read_bytes()).hexdigest()[:16]
        return f"dp-{digest}"
    return method


def frame_hash(s: L.Structure) -> str:
    h = hashlib.sha256()
    h.update(" ".join(s.symbols).encode())
    h.update(np.round(np.asarray(s.cell, float), 8).tobytes())
    h.update(np.round(np.asarray(s.positions, float), 8).tobytes())
    return h.hexdigest()[:24]


def calculator(method: str):
    """An ASE calculator for the method."""
    if method.startswith("dp:"):
        from deepmd.calculator import DP
        return DP(model=method[3:])
    from .reference import Reference
    return Reference(method).calc


def read_frames(system_dir: Path) -> list[L.Structure]:
    """The frames of a deepmd/npy system, as Structures."""
    d = L.read_deepmd_npy(str(system_dir))
    symbols = [d["type_map"][t] for t in d["types"]]
    n = len(symbols)
    return [L.Structure(box.reshape(3, 3), coord.reshape(n, 3), list(symbols))
            for box, coord in zip(d["box"], d["coord"])]


def label(frames: list[L.Structure], method: str, cache: Path):
    """(energies, forces, virials) of the frames, each computed once per method and frame."""
    from ase import Atoms

    where = cache / method_key(method)
    where.mkdir(parents=True, exist_ok=True)
    calc = None
    out = []
    for s in frames:
        path = where / f"{frame_hash(s)}.npz"
        if not path.exists():
            calc = calc or calculator(method)
            a = Atoms(s.symbols, positions=s.positions, cell=s.cell, pbc=True)
            a.calc = calc
            e, f = float(a.get_potential_energy()), np.asarray(a.get_forces(), float)
            virial = -np.asarray(a.get_stress(voigt=False), float) * a.get_volume()
            tmp = where / f".{path.stem}.{os.getpid()}.tmp.npz"
            np.savez(tmp, energy=e, force=f, virial=virial)
            os.replace(tmp, path)
        z = np.load(path)
        out.append((float(z["energy"]), z["force"], z["virial"]))
    return out


def write_systems(frames: list[L.Structure], labels, out: Path) -> list[Path]:
    """One deepmd/npy system per distinct atom list (out/sys_000, ...), written whole."""
    groups: dict[tuple, list[int]] = {}
    for k, s in enumerate(frames):
        groups.setdefault(tuple(s.symbols), []).append(k)
    written = []
    for g, idx in enumerate(groups.values()):
        final = out / f"sys_{g:03d}"  # write_deepmd_npy builds it under a temporary name
        L.write_deepmd_npy(str(final), [frames[k] for k in idx], energies=[labels[k][0] for k in idx],
                           forces=[labels[k][1] for k in idx], virials=[labels[k][2] for k in idx])
        written.append(final)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("systems", nargs="+", type=Path, help="deepmd/npy systems to label (e.g. the monitor's frames)")
    ap.add_argument("--method", required=True, help="chgnet, sevennet or dp:MODEL.pth")
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args(argv)
    frames = [s for d in a.systems for s in read_frames(d)]
    written = write_systems(frames, label(frames, a.method, a.cache), a.out)
    print(f"labelled {len(frames)} frames with {a.method}: {', '.join(str(w) for w in written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
