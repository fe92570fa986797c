#!/usr/bin/env python3
"""Build the LLZO training / validation / test set, labelled by the reference method.

The reference method is the universal machine-learned potential CHGNet 0.3.0
(PyPI package ``chgnet``; pretrained weights ship inside the package), run on
CPU with one thread.  It stands in for the paper's PBE/VASP labels; it is NOT DFT.
Labels: energy (eV), forces (eV/A), virial (eV, = -stress x volume, ASE stress
sign convention converted to deepmd's), exactly as tests/data/test_model/make_dataset.py.

The paper's three parts, at reduced scale (You et al., npj Comput. Mater. 10, 57 (2024)):

(a) crystal      t-LLZO 96-atom primitive cell and c-LLZO 192-atom cell, plus
                 Li2O, La2O3, ZrO2, La2Zr2O7 and bcc Li, lattices scaled isotropically by
                 -6..+6 % (then each axis +-2 %, shear <= 2 %) with random displacements;
                 the compounds twice: 12-22-atom cells (crys_<X>, 12 frames; not trained on by
                 the shipped model) and 88-128-atom supercells (crys_big_<X>, 48 frames).
(b) dynamics     reference-method Langevin MD of the 96-atom primitive t-LLZO cell
                 at 400, 800, 1200, 1600 K ("hot" family); a melt at 3000 K quenched to
                 300 K ("amorphous" family); a (001) slab of the 192-atom cell with
                 vacuum, static + MD at 800 K ("slab" family).
(c) close        t-LLZO frames in which 1-3 atom pairs are pushed to short distances
                 (0.6-0.8 x their usual nearest distance), so the model stays repulsive.
(d) shape        t-LLZO near the reference method's own 0 K lattice: the 96-atom cell relaxed
                 with its space group kept, then a and c strained independently by up to
                 +-1.5 % (fractional coordinates kept; at the corners and edge centres also
                 with the positions relaxed) and a few frames rattled by 0.02 A, so that the
                 model's 0 K a, c and c/a follow the reference's (crys_tllzo_shape;
                 built only when named: --only crys_tllzo_shape).

Every subsystem is labelled as a unit and written as deepmd/npy system dirs
``data/{training,validation,test}/<name>``; a marker ``data/done/<name>.json``
(counts, cost) is written last.  A rerun skips subsystems whose marker exists,
so the script resumes after an interruption.  The split is by family: within
each subsystem a fixed, seeded part of the frames (for MD: a contiguous segment
at the end of the trajectory) is the test set, never trained on.

Usage (project venv: ``source scripts/env.sh``):

    OMP_NUM_THREADS=1 python models/llzo/train/build_dataset.py            # all
    OMP_NUM_THREADS=1 python models/llzo/train/build_dataset.py --only md_1200K
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from llzo_dp_tools import structures as L
from llzo_dp_tools.compounds import COMPOUNDS, compound, min_distance
from llzo_dp_tools.reference import Reference

HERE = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------
# Perturbations
# --------------------------------------------------------------------------

def perturb(s: L.Structure, rng, scale=(-0.10, 0.10), shear=0.02, disp=(0.03, 0.15)) -> L.Structure:
    """Scale the cell isotropically by 1+U(scale) and each axis by a further +-2 %,
    add a symmetric shear <= ``shear``; then Gaussian displacements, rms in ``disp`` A."""
    iso = 1.0 + rng.uniform(*scale)
    eps = np.diag(rng.uniform(-0.02, 0.02, 3))
    off = rng.uniform(-shear, shear, 3)
    eps[0, 1] = eps[1, 0] = off[0]
    eps[0, 2] = eps[2, 0] = off[1]
    eps[1, 2] = eps[2, 1] = off[2]
    cell = s.cell @ (iso * (np.eye(3) + eps))
    pos = s.frac @ cell
    amp = rng.uniform(*disp)
    pos = pos + rng.normal(0.0, amp / np.sqrt(3.0), pos.shape)
    return L.Structure(cell, pos, s.symbols, dict(s.info, scale=iso, disp_rms=amp))


def close_contact(s: L.Structure, rng, npairs: int) -> L.Structure:
    """Push ``npairs`` random neighbour pairs to 0.6-0.8 x their current distance
    (moving the second atom along the bond), after small random displacements."""
    pos = s.positions + rng.normal(0.0, 0.05, s.positions.shape)
    s = L.Structure(s.cell, pos, s.symbols, dict(s.info))
    inv = np.linalg.inv(s.cell)
    used = set()
    ratios = []
    for _ in range(npairs):
        i = int(rng.integers(len(s)))
        while i in used:
            i = int(rng.integers(len(s)))
        d = s.positions - s.positions[i]
        d -= np.round(d @ inv) @ s.cell
        r = np.linalg.norm(d, axis=1)
        r[i] = np.inf
        for u in used:
            r[u] = np.inf
        j = int(np.argmin(r))
        f = rng.uniform(0.6, 0.8)
        s.positions[j] = s.positions[i] + d[j] * f
        used.update((i, j))
        ratios.append(f)
    s.info["contact_ratio"] = ratios
    return s


# --------------------------------------------------------------------------
# Subsystems
# --------------------------------------------------------------------------

def thermal_cell(s: L.Structure, temp: float) -> L.Structure:
    """Linear thermal expansion 1.7e-5 /K from 300 K (volumetric ~5.2e-5 /K, experiment)."""
    f = 1.0 + 1.7e-5 * (temp - 300.0)
    return L.Structure(s.cell * f, s.positions * f, s.symbols, dict(s.info, md_cell_scale=f))


def slab(conv: L.Structure, vacuum: float = 12.0) -> L.Structure:
    """(001) slab: the 192-atom conventional cell with ``vacuum`` A added along c
    (atoms wrapped into [0, c) first, so the two faces are z=0 and z~c)."""
    w = conv.wrapped()
    cell = w.cell.copy()
    cell[2, 2] += vacuum
    pos = w.positions + np.array([0, 0, vacuum / 2])
    return L.Structure(cell, pos, w.symbols, {"name": "t-LLZO (001) slab", "vacuum": vacuum})


def plan(args):
    """name -> (family, builder(ref, rng) -> (frames, labels or None), split rule)"""
    P = {}
    prim = lambda: L.primitive_tllzo("dft")  # noqa: E731

    def static(make, n, **kw):
        def b(ref, rng):
            base = make()
            return [perturb(base, rng, scale=(-args.scale, args.scale), **kw) for _ in range(n)], None
        return b

    # (a) crystals
    P["crys_tllzo96"] = ("crystal", static(prim, args.n_tllzo), "random")
    P["crys_cllzo192"] = ("crystal", static(lambda: L.cubic_llzo(seed=0), args.n_cllzo), "random")
    # the compounds as small cells, then as supercells (the shipped model trains on these)
    for prefix, cells, n in (("crys_", "small", args.n_compound), ("crys_big_", "big", args.n_compound_big)):
        for name in COMPOUNDS if n else ():
            def b(ref, rng, name=name, cells=cells, n=n):
                base = compound(name, cells)
                return [perturb(base, rng, scale=(-args.scale, args.scale)) for _ in range(n)], None
            P[f"{prefix}{name}"] = ("crystal", b, "random")

    # (b) dynamics: hot crystal MD of the primitive cell
    for T in (400, 800, 1200, 1600):
        def b(ref, rng, T=T):
            s = thermal_cell(prim(), T)
            return ref.md(s, [T] * args.md_steps, seed=int(T), every=args.md_every, skip=args.md_skip)
        P[f"md_{T}K"] = ("hot", b, "tail")

    # melt at 3000 K, quench to 300 K (amorphous)
    def melt(ref, rng):
        s = thermal_cell(prim(), 1600)
        nm, nq, nh = args.melt_steps, args.quench_steps, args.hold_steps
        temps = [3000.0] * nm + list(np.linspace(3000.0, 300.0, nq)) + [300.0] * nh
        return ref.md(s, temps, seed=3000, dt_fs=1.5, every=args.md_every, skip=args.md_skip)
    P["amorph_melt_quench"] = ("amorphous", melt, "stride")

    # surface slab: static perturbed frames + MD at 800 K
    def slab_static(ref, rng):
        base = slab(L.tetragonal_llzo("dft"))
        return [perturb(base, rng, scale=(-0.03, 0.03), shear=0.0, disp=(0.03, 0.12)) for _ in range(args.n_slab)], None
    P["slab_static"] = ("slab", slab_static, "random")

    def slab_md(ref, rng):
        return ref.md(slab(L.tetragonal_llzo("dft")), [800.0] * args.slab_md_steps, seed=801, every=args.md_every, skip=args.md_skip)
    P["slab_md800K"] = ("slab", slab_md, "tail")

    # (c) close contacts
    def close(ref, rng):
        base = prim()
        out = []
        for k in range(args.n_close):
            s = perturb(base, rng, scale=(-0.04, 0.04), shear=0.01, disp=(0.02, 0.06))
            out.append(close_contact(s, rng, npairs=1 + k % 3))
        return out, None
    P["close_tllzo96"] = ("close-contact", close, "random")

    # (d) the reference's own 0 K t-LLZO, strained per axis: pins the model's lattice and c/a
    P["crys_tllzo_shape"] = ("crystal", lambda ref, rng: (shape_frames(ref, rng), None), "random")
    return P


SHAPE_STRAINS = (-0.015, -0.0075, 0.0, 0.0075, 0.015)
RELAXED_ION_STRAINS = (-0.015, 0.0, 0.015)  # (a, c) pairs whose positions the reference relaxes
OPT_IN = ("crys_tllzo_shape",)  # built only when named with --only
# systems whose forces the inputs' prefactor-force term (pref_pf) weights on top of the ordinary
# force term: their atom_pref.npy holds 1, every other system's 0 (write_force_weights)
FORCE_WEIGHTED = ("crys_tllzo_shape",)


def write_force_weights(out: str) -> int:
    """atom_pref.npy (derived, not committed: train.sh writes it before a stage trains) in every
    system of `out` when it holds a FORCE_WEIGHTED system: 1 on the
    weighted systems' atoms, 0 elsewhere, three columns per atom (x, y, z). Every system needs
    the file and the three columns: DeePMD-kit 3.2's PyTorch loader neither repeats a per-atom
    weight over x, y, z nor pads a missing file to that width, so either stops the training."""
    dirs = sorted(glob.glob(os.path.join(out, "*", "*", "set.*")))
    if not any(os.path.basename(os.path.dirname(d)) in FORCE_WEIGHTED for d in dirs):
        return 0
    for d in dirs:
        nf, width = np.load(os.path.join(d, "coord.npy"), mmap_mode="r").shape
        w = 1.0 if os.path.basename(os.path.dirname(d)) in FORCE_WEIGHTED else 0.0
        L._atomic_write_bytes(os.path.join(d, "atom_pref.npy"), _npy_bytes(np.full((nf, width), w)))
    return len(dirs)


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def shape_frames(ref, rng, n_rattled: int = 8, rattle: float = 0.02) -> list[L.Structure]:
    """t-LLZO (96 atoms) relaxed by the reference with its space group kept, then every (a, c)
    strain pair of SHAPE_STRAINS with fractional coordinates kept (clamped-ion), the relaxed cell
    with Gaussian displacements of `rattle` A rms, and the RELAXED_ION_STRAINS pairs with the
    positions relaxed by the reference in the strained cell: a relaxed lattice answers to the
    relaxed-ion stress, which the clamped-ion cells alone leave untaught."""
    from llzo_dp_tools.lattice import relax_positions, relax_symmetric

    r = relax_symmetric(L.primitive_tllzo("dft"), ref.calc)
    out = [strained(r, ea, ec) for ea in SHAPE_STRAINS for ec in SHAPE_STRAINS]
    for _ in range(n_rattled):
        pos = r.positions + rng.normal(0.0, rattle / np.sqrt(3.0), r.positions.shape)
        out.append(L.Structure(r.cell, pos, r.symbols, dict(r.info, disp_rms=rattle)))
    for ea in RELAXED_ION_STRAINS:
        for ec in RELAXED_ION_STRAINS:
            if ea or ec:  # the unstrained cell is relaxed already
                s = relax_positions(strained(r, ea, ec), ref.calc)
                s.info["relaxed_ion"] = True
                out.append(s)
    return out


def strained(r: L.Structure, ea: float, ec: float) -> L.Structure:
    """r with a strained by ea and c by ec, fractional coordinates kept (the body-centred cell's
    Cartesian axes are the tetragonal ones: x and y take ea, z takes ec)."""
    cell = r.cell @ np.diag([1 + ea, 1 + ea, 1 + ec])
    return L.Structure(cell, r.frac @ cell, r.symbols, dict(r.info, strain_a=ea, strain_c=ec))


def split(n: int, rule: str, seed: int, ftest: float, fval: float):
    """Indices (train, val, test).  'tail': the last ftest of a trajectory is the test
    segment, validation every k-th frame of the rest; 'stride'/'random': seeded picks."""
    ntest = max(1, int(round(ftest * n))) if n >= 3 else 0
    nval = max(1, int(round(fval * n))) if n >= 3 else 0
    idx = np.arange(n)
    if rule == "tail":
        test = idx[n - ntest:]
        rest = idx[: n - ntest]
        val = rest[:: max(1, len(rest) // max(nval, 1))][:nval] if nval else rest[:0]
    elif rule == "stride":  # spread over the whole melt/quench (every phase in each split)
        test = idx[2::max(1, n // max(ntest, 1))][:ntest]
        rest = np.setdiff1d(idx, test)
        val = rest[1::max(1, len(rest) // max(nval, 1))][:nval] if nval else rest[:0]
    else:
        perm = np.random.default_rng(seed).permutation(n)
        test, val = np.sort(perm[:ntest]), np.sort(perm[ntest:ntest + nval])
    train = np.setdiff1d(idx, np.concatenate([test, val]))
    return train, np.sort(val), np.sort(test)


def build_one(name, family, builder, rule, ref, args):
    done = os.path.join(args.out, "done", name + ".json")
    if os.path.exists(done):
        print(f"{name}: already complete, skipped", flush=True)
        return json.load(open(done))
    # crys_big_X draws from the same seed as crys_X (its frames were first made under that name)
    seed = args.seed + sum(map(ord, name.replace("crys_big_", "crys_")))
    rng = np.random.default_rng(seed)
    t0 = time.time()
    n0, tc0 = ref.n_calls, ref.t_calls
    frames, labels = builder(ref, rng)
    if labels is None:
        labels = [ref.label(s) for s in frames]
    t_total = time.time() - t0
    E = np.array([x[0] for x in labels])
    F = np.array([x[1] for x in labels])
    W = np.array([x[2] for x in labels])
    tr, va, te = split(len(frames), rule, seed, args.test_frac, args.val_frac)
    for part, idx in (("training", tr), ("validation", va), ("test", te)):
        if len(idx):
            L.write_deepmd_npy(os.path.join(args.out, part, name), [frames[i] for i in idx],
                               energies=E[idx], forces=F[idx], virials=W[idx])
    natoms = len(frames[0])
    mind = [min_distance(s) for s in frames]
    ncalls = ref.n_calls - n0
    rec = {
        "name": name, "family": family, "natoms": natoms, "formula": frames[0].formula(),
        "frames": len(frames), "training": int(len(tr)), "validation": int(len(va)), "test": int(len(te)),
        "split_rule": rule,
        "reference_calls": int(ncalls),
        "seconds": round(t_total, 2),
        "seconds_per_reference_call": round((ref.t_calls - tc0) / max(ncalls, 1), 4),
        "energy_per_atom_min": float(E.min() / natoms), "energy_per_atom_max": float(E.max() / natoms),
        "max_abs_force": float(np.abs(F).max()), "min_pair_distance": float(min(mind)),
        "temperatures": sorted({float(s.info["md_temp"]) for s in frames if "md_temp" in s.info})[:3] or None,
    }
    os.makedirs(os.path.dirname(done), exist_ok=True)
    L._atomic_write_text(done, json.dumps(rec, indent=2) + "\n")
    print(f"{name}: {rec['frames']} frames ({len(tr)}/{len(va)}/{len(te)}), {natoms} atoms, "
          f"E/atom {rec['energy_per_atom_min']:.3f}..{rec['energy_per_atom_max']:.3f}, max|F| {rec['max_abs_force']:.2f}, "
          f"min d {rec['min_pair_distance']:.2f} A, {t_total:.0f} s ({rec['seconds_per_reference_call']:.3f} s/call)", flush=True)
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", default=os.path.join(HERE, "data"))
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--only", nargs="*", help="subsystem names (default all, in order)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--scale", type=float, default=0.06, help="crystal lattices scaled by 1+U(-scale, scale) (plus +-2 %% per axis)")
    ap.add_argument("--n-tllzo", type=int, default=40)
    ap.add_argument("--n-cllzo", type=int, default=12)
    ap.add_argument("--n-compound", type=int, default=12)
    ap.add_argument("--n-compound-big", type=int, default=48,
                    help="frames per compound as an 88-128-atom supercell (crys_big_*; 0: none)")
    ap.add_argument("--md-steps", type=int, default=200)
    ap.add_argument("--md-every", type=int, default=5)
    ap.add_argument("--md-skip", type=int, default=20)
    ap.add_argument("--melt-steps", type=int, default=300)
    ap.add_argument("--quench-steps", type=int, default=200)
    ap.add_argument("--hold-steps", type=int, default=60)
    ap.add_argument("--n-slab", type=int, default=6)
    ap.add_argument("--slab-md-steps", type=int, default=100)
    ap.add_argument("--n-close", type=int, default=24)
    ap.add_argument("--test-frac", type=float, default=0.2)
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--rcut", type=float, default=6.0)
    ap.add_argument("--reference", default="chgnet", help="the labelling method: chgnet (default) or sevennet")
    args = ap.parse_args(argv)

    P = plan(args)
    if args.list:
        for k, (fam, _, rule) in P.items():
            print(k, fam, rule)
        return 0
    # the shape cells belong to the SevenNet-0 recipe (data-sevennet/), not to the shipped model's data/
    names = args.only or [n for n in P if n not in OPT_IN]
    ref = Reference(args.reference)
    t0 = time.time()
    for name in names:
        fam, b, rule = P[name]
        build_one(name, fam, b, rule, ref, args)
        print(f"  elapsed {time.time() - t0:.0f} s", flush=True)
    summarize(args.out, ref.name, args.rcut)
    return 0


def summarize(out: str, refname: str, rcut: float) -> None:
    """data/summary.json: per-subsystem records + max neighbour counts within rcut (for sel)."""
    recs = {}
    ddir = os.path.join(out, "done")
    for f in sorted(os.listdir(ddir)):
        if f.endswith(".json"):
            r = json.load(open(os.path.join(ddir, f)))
            recs[r["name"]] = r
    fam = {}
    for r in recs.values():
        d = fam.setdefault(r["family"], {"frames": 0, "training": 0, "validation": 0, "test": 0, "atoms_x_frames": 0})
        for k in ("frames", "training", "validation", "test"):
            d[k] += r[k]
        d["atoms_x_frames"] += r["frames"] * r["natoms"]
    summary = {"labels": refname, "reference": f"{refname} (universal ML potential; not DFT)", "type_map": L.TYPE_MAP, "families": fam, "systems": recs}
    L._atomic_write_text(os.path.join(out, "summary.json"), json.dumps(summary, indent=2) + "\n")
    print(json.dumps(fam, indent=1))


if __name__ == "__main__":
    sys.exit(main())
