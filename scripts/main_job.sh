#!/usr/bin/env bash
# Sets everything up (idempotent) and runs the main job: a short NPT heating ladder of
# tetragonal LLZO with pair_style llzo_dp, printing the lattice table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
python examples/npt_quick/run.py "$@"
