"""How far from the hardware limit: floating-point operations of an se_e2_a model per atom-step
against this CPU's dense float64 matrix-multiply rate.

    python bench/flops.py [--model models/llzo/llzo_dp_model.pth] [--threads 1]
                          [--us-per-atom-step X]   # measured time, e.g. from bench_vs_deepmd.py

Counts (multiply-add = 2 FLOP; activations and the environment matrix are left out, they are
a few per cent): forward = embedding nets on every neighbour slot (sum(sel) per atom, padding
included, as the model computes it), R^T G (2*4*nnei*M), the descriptor (2*M*4*axis) and the
fitting net; forces need the input gradient of every layer, as many FLOPs again, so an
atom-step is 2x forward. A compressed model replaces the embedding nets by quintic tables
evaluated on real neighbours only (~10 FLOP per output value), so its count is given for the
mean neighbour number of t-LLZO within rcut. The native evaluator (src/model/native/) runs the
embedding nets on real neighbours only: its count ("real neighbours") is the useful work, the
same for any sel.
"""

import argparse
import re
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def count(model_path):
    import deepmd.pt  # noqa: F401  (registers deepmd's custom ops so any model loads)

    m = torch.jit.load(str(model_path), map_location="cpu")
    sd = m.state_dict()
    sel = list(m.get_sel())
    ntypes = len(sel)

    def layers(prefix, net):
        out, k = [], 0
        while f"{prefix}.networks.{net}.layers.{k}.matrix" in sd:
            out.append(tuple(sd[f"{prefix}.networks.{net}.layers.{k}.matrix"].shape))
            k += 1
        return out

    dprefix = next(re.sub(r"\.networks\.0\.layers\.0\.matrix$", "", k) for k in sd
                   if "descriptor" in k and k.endswith("networks.0.layers.0.matrix") and "._networks" not in k)
    fprefix = next(re.sub(r"\.networks\.0\.layers\.0\.matrix$", "", k) for k in sd
                   if "fitting" in k and k.endswith("networks.0.layers.0.matrix") and "._networks" not in k)
    emb = layers(dprefix, 0)  # all type-pair nets have the same shape
    fit = layers(fprefix, 0)
    M = emb[-1][1]
    axis = fit[0][0] // M
    nnei = sum(sel)
    emb_per_slot = sum(2 * i * o for i, o in emb)
    fwd = dict(embedding=nnei * emb_per_slot, RtG=2 * 4 * nnei * M, descriptor=2 * M * 4 * axis,
               fitting=sum(2 * i * o for i, o in fit))
    return dict(sel=sel, ntypes=ntypes, embedding=emb, fitting=fit, M=M, axis=axis, nnei=nnei, forward=fwd)


def matmul_rate(threads, n=1024, shape=None, repeats=5):
    torch.set_num_threads(threads)
    a, b = (torch.randn(*shape[0], dtype=torch.float64), torch.randn(*shape[1], dtype=torch.float64)) if shape else \
        (torch.randn(n, n, dtype=torch.float64), torch.randn(n, n, dtype=torch.float64))
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - t0)
    flop = 2 * a.shape[0] * a.shape[1] * b.shape[1]
    return flop / best / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models/llzo/llzo_dp_model.pth"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--us-per-atom-step", type=float, nargs="*", default=[],
                    help="measured times (µs per atom-step) to express as a fraction of the limit")
    ap.add_argument("--neighbours", type=float, default=None,
                    help="mean real neighbours within rcut (default: measured on t-LLZO at the experimental cell)")
    a = ap.parse_args()
    c = count(a.model)
    fwd = sum(c["forward"].values())
    total = 2 * fwd
    if a.neighbours is None:
        import numpy as np
        from llzo_dp_tools.lammps import tllzo
        cell, pos, _ = tllzo(3, 3, 3)
        d = pos[:, None, :] - pos[None, :192, :]
        d -= np.round(d @ np.linalg.inv(cell)) @ cell
        r = np.linalg.norm(d, axis=-1)
        a.neighbours = float(((r < 6.0) & (r > 0)).sum() / 192)
    comp_fwd = a.neighbours * c["M"] * (10 + 8) + c["forward"]["descriptor"] + c["forward"]["fitting"]
    per_slot = (c["forward"]["embedding"] + c["forward"]["RtG"]) / c["nnei"]
    real_fwd = a.neighbours * per_slot + c["forward"]["descriptor"] + c["forward"]["fitting"]
    real = 2 * real_fwd
    print(f"model {Path(a.model).name}: sel {c['sel']} (nnei {c['nnei']}), embedding {c['embedding']}, "
          f"fitting {c['fitting']}, M {c['M']}, axis {c['axis']}")
    for k, v in c["forward"].items():
        print(f"  forward {k:<11} {v / 1e3:10.1f} kFLOP/atom ({100 * v / fwd:4.1f} %)")
    print(f"  forward total     {fwd / 1e3:10.1f} kFLOP/atom; atom-step (forward + forces) {total / 1e6:.3f} MFLOP")
    print(f"  real neighbours only ({a.neighbours:.1f}, the native evaluator): atom-step {real / 1e6:.3f} MFLOP")
    print(f"  compressed model, {a.neighbours:.1f} real neighbours: atom-step ≈ {2 * comp_fwd / 1e6:.3f} MFLOP")
    peak = matmul_rate(a.threads)
    fitrate = matmul_rate(a.threads, shape=((1536, c["fitting"][0][0]), (c["fitting"][0][0], c["fitting"][0][1])))
    embrate = matmul_rate(a.threads, shape=((1536 * c["nnei"], c["embedding"][-1][0]), (c["embedding"][-1][0], c["M"])))
    print(f"dense float64 matmul, {a.threads} thread(s): 1024^3 {peak:.1f} GFLOP/s; fitting-layer shape "
          f"{fitrate:.1f} GFLOP/s; last embedding layer shape {embrate:.1f} GFLOP/s")
    print(f"limit at the 1024^3 rate: {total / (peak * 1e9) * 1e6:.1f} µs/atom-step (uncompressed, all slots), "
          f"{real / (peak * 1e9) * 1e6:.1f} µs/atom-step (uncompressed, real neighbours), "
          f"{2 * comp_fwd / (peak * 1e9) * 1e6:.1f} µs/atom-step (compressed)")
    for t in a.us_per_atom_step:
        print(f"measured {t:.1f} µs/atom-step = {100 * total / (t * 1e-6) / (peak * 1e9):.1f} % of the matmul rate "
              f"counting all slots, {100 * real / (t * 1e-6) / (peak * 1e9):.1f} % counting real neighbours, "
              f"{100 * 2 * comp_fwd / (t * 1e-6) / (peak * 1e9):.1f} % with the compressed count")


if __name__ == "__main__":
    main()
