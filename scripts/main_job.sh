#!/usr/bin/env bash
# Sets everything up (idempotent) and runs the main job: the short NPT heating ladder of
# tetragonal LLZO with pair_style llzo_dp and the shipped model (examples/heating/run.py
# --quick), printing the lattice table and the coverage, and writing the plots.
#   bash scripts/main_job.sh [--out DIR]      (other run.py options are passed on)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
python examples/heating/run.py --quick "$@"
