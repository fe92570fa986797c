"""Where a model call spends its time: torch's profiler on forward_lower (energy + forces +
virial, as the pair style calls it) for a t-LLZO supercell.

    python bench/profile_model.py [--model models/llzo/llzo_dp_model.pth] [--cells 2 2 2]
                                  [--threads 1] [--rows 25]

The neighbour list is DeePMD-kit's own (deepmd.pt.utils.nlist), cut to the model's rcut and
sel, like the one llzo_dp passes. Prints the operators by self CPU time.
"""

import argparse
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models/llzo/llzo_dp_model.pth"))
    ap.add_argument("--cells", type=int, nargs=3, default=[2, 2, 2])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import deepmd.pt  # noqa: F401  (custom ops for compressed models)
    from deepmd.pt.utils.nlist import extend_input_and_build_neighbor_list
    from llzo_dp_tools.lammps import tllzo

    torch._C._jit_set_profiling_executor(True)
    torch._C._get_graph_executor_optimize(False)
    m = torch.jit.load(a.model, map_location="cpu")
    cell, pos, types = tllzo(*a.cells)
    coord = torch.tensor(pos, dtype=torch.float64).reshape(1, -1, 3)
    box = torch.tensor(cell, dtype=torch.float64).reshape(1, 9)
    atype = torch.tensor(types - 1, dtype=torch.int64).reshape(1, -1)
    ext_coord, ext_atype, mapping, nlist = extend_input_and_build_neighbor_list(
        coord, atype, m.get_rcut(), m.get_sel(), mixed_types=False, box=box)
    ext_coord.requires_grad_(False)
    n = coord.shape[1]

    def call():
        return m.forward_lower(ext_coord.reshape(1, -1, 3).clone(), ext_atype, nlist, mapping, do_atomic_virial=False)

    for _ in range(2):
        call()
    t0 = time.perf_counter()
    for _ in range(a.repeats):
        call()
    dt = (time.perf_counter() - t0) / a.repeats
    print(f"{Path(a.model).name}: {n} atoms ({ext_coord.shape[1]} with ghosts), nlist {tuple(nlist.shape)}, "
          f"{a.threads} thread(s): {dt * 1e3:.1f} ms per call = {dt / n * 1e6:.1f} µs/atom-step")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        call()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=a.rows))


if __name__ == "__main__":
    main()
