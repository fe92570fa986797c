#!/usr/bin/env bash
# GPU smoke check of the core (no LAMMPS): CPU vs CUDA energy/forces/virial and timing.
#   bash scripts/gpu_smoke.sh prepare   # here: stripped llzo-dp + test frames into .gpu/
#   bash scripts/gpu_smoke.sh run       # on a machine with a CUDA GPU (copy .gpu/ and the models there); needs python3 with torch 2.11
set -euo pipefail
cd "$(dirname "$0")/.."
M=tests/data/test_model/test_model.pth
case "${1:-}" in
prepare)
  source scripts/env.sh
  grep -qx "/.gpu/" .git/info/exclude || echo "/.gpu/" >> .git/info/exclude
  cargo build --release --quiet --bin llzo-dp
  mkdir -p .gpu && strip -o .gpu/llzo-dp target/release/llzo-dp
  python - <<'PY'
from pathlib import Path
from llzo_dp_tools.lammps import perturbed, tllzo, write_data
write_data(Path(".gpu/t111.data"), *perturbed(*tllzo(), seed=61, sigma=0.08, tilt=(0.5, 0.2, -0.3)))
write_data(Path(".gpu/t222.data"), *perturbed(*tllzo(2, 2, 2), seed=62, sigma=0.08))
write_data(Path(".gpu/t333.data"), *perturbed(*tllzo(3, 3, 3), seed=63, sigma=0.05))
PY
  ;;
run)
  OUT=${OUT:-/tmp}
  TL=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__)+'/lib')")
  export LD_LIBRARY_PATH=$TL:$TL/../../nvidia/cu13/lib:${LD_LIBRARY_PATH:-}
  nvidia-smi -L
  ./.gpu/llzo-dp info $M
  S=models/llzo/llzo_dp_model.pth
  # (test model | shipped model) x frames x (cpu torch graph, cpu native, cuda)
  for job in "test $M t111" "test $M t222" "ship $S t222" "ship $S t333"; do
    set -- $job
    ./.gpu/llzo-dp eval $2 .gpu/$3.data --device cpu --backend torch > "$OUT/$1_$3_cpu.json"
    ./.gpu/llzo-dp eval $2 .gpu/$3.data --device cpu --backend native > "$OUT/$1_$3_native.json"
    ./.gpu/llzo-dp eval $2 .gpu/$3.data --device cuda > "$OUT/$1_$3_cuda.json"
  done
  # the native evaluator is CPU-only: asking for it on a GPU must be refused with a message
  if ./.gpu/llzo-dp eval $S .gpu/t111.data --device cuda --backend native > /dev/null 2> "$OUT/native_cuda.err"; then
    echo "FAIL: backend native on cuda was accepted"; else echo "refused as expected: $(cat "$OUT/native_cuda.err")"; fi
  OUT=$OUT python3 - <<'PY'
import json, os, numpy as np
o = os.environ["OUT"]
bad = 0
for job in ("test_t111", "test_t222", "ship_t222", "ship_t333"):
    r = {d: json.load(open(f"{o}/{job}_{d}.json")) for d in ("cpu", "native", "cuda")}
    a, b = r["cpu"], r["cuda"]
    dE = abs(a["energy"] - b["energy"])
    dF = np.abs(np.array(a["forces"]) - np.array(b["forces"])).max()
    dV = np.abs(np.array(a["virial"]) - np.array(b["virial"])).max()
    bad += not (b["device"].startswith("Cuda") and dE < 1e-8 * a["atoms"] and dF < 1e-8 and dV < 1e-7)
    print(f"{job}: {a['atoms']} atoms | {b['device']} {b['backend']} | dE {dE:.2e} max dF {dF:.2e} max dvirial {dV:.2e}"
          f" | s/call cpu-graph {a['seconds_per_call']:.4f} cpu-native {r['native']['seconds_per_call']:.4f}"
          f" cuda {b['seconds_per_call']:.4f} (first cuda call {b['seconds_first']:.2f} s)")
print("GPU SMOKE", "FAILED" if bad else "PASSED")
PY
  ;;
*) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
