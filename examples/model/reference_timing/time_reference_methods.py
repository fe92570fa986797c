#!/usr/bin/env python3
"""Time the two candidate reference methods on the same LLZO frames, one CPU thread:
CHGNet 0.3.0 (PyPI `chgnet`, the project's reference method) and SevenNet-0 (PyPI `sevenn`).

`sevenn` is not in the project venv (its dependencies are not part of the pinned stack), so
install it aside and put it on PYTHONPATH for this script only:

    pip download sevenn==0.13.0 --no-deps -d /tmp/sv
    pip install --target /tmp/svpkgs --no-deps /tmp/sv/sevenn-0.13.0-py3-none-any.whl \
        torch_geometric braceexpand matscipy scikit-learn ninja xxhash aiohttp fsspec psutil threadpoolctl
    PYTHONPATH=/tmp/svpkgs python examples/model/reference_timing/time_reference_methods.py

Frames: the 96-atom primitive t-LLZO cell and the 192-atom conventional cell, each three times
with Gaussian displacements (rms 0.1 A, seeded). Per method: the first call (graph set-up) is
reported apart; then the median of the timed single points (energy, forces, stress). Also the
energy and force differences between the two methods on those frames. Writes
reference_timing.json next to this script (temp + rename)."""
import json
import os
import statistics
import sys
import time

for _k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_k] = "1"
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "pipeline"))
import llzo_structures as L  # noqa: E402


def frames():
    from ase import Atoms
    rng = np.random.default_rng(7)
    out = []
    for name, s in (("tllzo96", L.primitive_tllzo()), ("tllzo192", L.tetragonal_llzo())):
        for k in range(3):
            pos = s.positions + rng.normal(0.0, 0.1, s.positions.shape)
            out.append((name, Atoms(s.symbols, positions=pos, cell=s.cell, pbc=True)))
    return out


def calculators():
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator
    from sevenn.calculator import SevenNetCalculator
    import chgnet
    import sevenn
    return {f"CHGNet 0.3.0 (chgnet {chgnet.__version__})":
            CHGNetCalculator(model=CHGNet.load(model_name="0.3.0", use_device="cpu", verbose=False), use_device="cpu"),
            f"SevenNet-0 (sevenn {sevenn.__version__}, 7net-0)": SevenNetCalculator("7net-0", device="cpu")}


def main():
    fr = frames()
    res, preds = {}, {}
    for label, calc in calculators().items():
        setup = None
        per = {}
        preds[label] = []
        for i, (name, at) in enumerate(fr):
            at = at.copy()
            at.calc = calc
            t0 = time.perf_counter()
            e = at.get_potential_energy()
            f = at.get_forces()
            at.get_stress()
            dt = time.perf_counter() - t0
            preds[label].append((e / len(at), f))
            if i == 0:
                setup = dt  # the first call builds graphs / compiles
            else:
                per.setdefault(name, []).append(dt)
        res[label] = {"first_call_s": setup, **{f"{n}_s_per_frame": statistics.median(v) for n, v in per.items()}}
        print(label, json.dumps(res[label]), flush=True)
    (a, pa), (b, pb) = preds.items()
    de = [float(abs(x[0] - y[0])) * 1000 for x, y in zip(pa, pb)]
    df = [float(np.sqrt(np.mean((x[1] - y[1]) ** 2))) * 1000 for x, y in zip(pa, pb)]
    res["difference"] = {"what": f"{a} vs {b}, same frames", "energy_meV_per_atom": de,
                         "force_rmse_meV_per_A": df,
                         "note": "energies differ by a constant reference per element as well; not corrected"}
    print(json.dumps(res["difference"]))
    tmp = os.path.join(HERE, ".reference_timing.json.tmp")
    with open(tmp, "w") as fh:
        json.dump(res, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, os.path.join(HERE, "reference_timing.json"))


if __name__ == "__main__":
    main()
