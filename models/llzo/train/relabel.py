#!/usr/bin/env python3
"""Relabels the training data (data/{training,validation,test}/<system>, deepmd/npy) with another
reference method, frames unchanged: energy, forces and virial recomputed. Resumable: a system whose
output directory exists is skipped (each is written whole, under a temporary name).

    python relabel.py --reference sevennet --out data-sevennet
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np

from llzo_dp_tools import structures as L
from llzo_dp_tools.reference import Reference

HERE = os.path.dirname(os.path.abspath(__file__))
SPLITS = ("training", "validation", "test")


def relabel_system(src: str, dst: str, ref: Reference) -> int:
    d = L.read_deepmd_npy(src)
    syms = [d["type_map"][t] for t in d["types"]]
    frames = [L.Structure(b.reshape(3, 3), c.reshape(-1, 3), syms) for c, b in zip(d["coord"], d["box"])]
    labels = [ref.label(s) for s in frames]
    L.write_deepmd_npy(dst, frames, energies=[e for e, _, _ in labels], forces=[f for _, f, _ in labels],
                       virials=[v for _, _, v in labels])
    return len(frames)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="chgnet or sevennet")
    ap.add_argument("--src", default=os.path.join(HERE, "data"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    ref = Reference(args.reference)
    t0 = time.time()
    n = 0
    for split in SPLITS:
        for system in sorted(os.listdir(os.path.join(args.src, split))):
            dst = os.path.join(args.out, split, system)
            if os.path.isdir(dst):
                continue
            n += relabel_system(os.path.join(args.src, split, system), dst, ref)
            print(f"{split}/{system}: {time.time() - t0:.0f} s", flush=True)
    done = os.path.join(args.out, "done")
    if not os.path.isdir(done):
        shutil.copytree(os.path.join(args.src, "done"), done + ".tmp")
        os.replace(done + ".tmp", done)
    summary = json.load(open(os.path.join(args.src, "summary.json")))
    summary.update(labels=ref.name, reference=f"{ref.name} (universal ML potential; not DFT)",
                   relabelled_from=summary.get("labels"))
    L._atomic_write_text(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=2) + "\n")
    print(f"{n} frames relabelled with {ref.name} in {time.time() - t0:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
