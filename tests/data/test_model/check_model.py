#!/usr/bin/env python3
"""Sanity checks of the frozen test model (run in the project venv):

    OMP_NUM_THREADS=1 python tests/data/test_model/check_model.py [test_model.pth]

1. deepmd.infer.DeepPot: evaluate the 192-atom t-LLZO cell (experimental
   lattice, llzo_dp_tools.structures) -> energy/atom, max |F|,
   and the net force (must be ~0).
2. torch.jit.load: TorchScript method names and get_rcut / get_type_map /
   get_sel / get_dim_fparam / get_dim_aparam, i.e. what a C++/Rust host sees.
3. Translation invariance and periodic-image consistency: the energy of the
   1x1x1 cell x 2 equals that of the 2x1x1 supercell.
Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
from llzo_dp_tools import structures as L


def main() -> int:
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "test_model.pth")
    import torch

    torch.set_num_threads(1)
    from deepmd.infer import DeepPot

    out: dict = {"model": os.path.relpath(model), "size_bytes": os.path.getsize(model)}
    dp = DeepPot(model)
    out["deeppot"] = {"rcut": dp.get_rcut(), "type_map": dp.get_type_map(), "ntypes": dp.get_ntypes()}

    s = L.tetragonal_llzo("exp")
    atype = s.types
    coord = s.positions.reshape(1, -1)
    cell = s.cell.reshape(1, -1)
    dp.eval(coord, cell, atype)  # warm-up
    t0 = time.perf_counter()
    e, f, v = dp.eval(coord, cell, atype)
    dt = time.perf_counter() - t0
    f = f.reshape(-1, 3)
    out["tllzo_exp_192"] = {
        "energy_eV": float(e.ravel()[0]),
        "energy_per_atom_eV": float(e.ravel()[0]) / len(s),
        "max_abs_force_eV_per_A": float(np.abs(f).max()),
        "max_force_norm_eV_per_A": float(np.linalg.norm(f, axis=1).max()),
        "net_force_norm": float(np.linalg.norm(f.sum(axis=0))),
        "virial_diag_eV": [float(x) for x in v.reshape(3, 3).diagonal()],
        "eval_seconds": dt,
    }
    # same cell shifted by a constant vector: energy must not change
    e_shift, _, _ = dp.eval(coord + 0.37, cell, atype)
    sc = L.supercell(s, 2, 1, 1)
    e2, _, _ = dp.eval(sc.positions.reshape(1, -1), sc.cell.reshape(1, -1), sc.types)
    out["checks"] = {
        "translation_dE": float(abs(e_shift.ravel()[0] - e.ravel()[0])),
        "supercell_2x1x1_minus_2x_unit_dE": float(e2.ravel()[0] - 2 * e.ravel()[0]),
    }

    m = torch.jit.load(model, map_location="cpu")
    names = sorted(m._c._method_names())
    out["torchscript"] = {
        "methods": names,
        "get_rcut": float(m.get_rcut()),
        "get_type_map": list(m.get_type_map()),
        "get_sel": [int(x) for x in m.get_sel()] if "get_sel" in names else None,
        "get_dim_fparam": int(m.get_dim_fparam()) if "get_dim_fparam" in names else None,
        "get_dim_aparam": int(m.get_dim_aparam()) if "get_dim_aparam" in names else None,
        "has_message_passing": bool(m.has_message_passing()) if "has_message_passing" in names else None,
        "schemas": {k: str(getattr(m, k).schema) for k in ("forward", "forward_lower") if k in names},
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
