#!/usr/bin/env bash
# GPU smoke check of the core (no LAMMPS): CPU vs CUDA energy/forces/virial and timing.
#   bash scripts/gpu_smoke.sh prepare   # here: stripped llzo-dp + test frames into .gpu/
#   bash scripts/gpu_smoke.sh run       # on the device machine (carry .gpu); needs python3 with torch 2.11
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
import sys; sys.path.insert(0, "tests")
from pathlib import Path
from lammps_run import perturbed, tllzo, write_data
write_data(Path(".gpu/t111.data"), *perturbed(*tllzo(), seed=61, sigma=0.08, tilt=(0.5, 0.2, -0.3)))
write_data(Path(".gpu/t222.data"), *perturbed(*tllzo(2, 2, 2), seed=62, sigma=0.08))
PY
  ;;
run)
  OUT=${OUT:-/tmp}
  export LD_LIBRARY_PATH=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__)+'/lib')")
  nvidia-smi -L
  ./.gpu/llzo-dp info $M
  for f in t111 t222; do for d in cpu cuda; do
    ./.gpu/llzo-dp eval $M .gpu/$f.data --device $d > "$OUT/${f}_$d.json"
  done; done
  OUT=$OUT python3 - <<'PY'
import json, os, numpy as np
o = os.environ["OUT"]
for f in ("t111", "t222"):
    a, b = (json.load(open(f"{o}/{f}_{d}.json")) for d in ("cpu", "cuda"))
    print(f, a["atoms"], "atoms | device", b["device"], "| dE", abs(a["energy"] - b["energy"]),
          "| max dF", np.abs(np.array(a["forces"]) - np.array(b["forces"])).max(),
          "| max dvirial", np.abs(np.array(a["virial"]) - np.array(b["virial"])).max(),
          "| s/call cpu", a["seconds_per_call"], "cuda", b["seconds_per_call"])
PY
  ;;
*) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
