#!/usr/bin/env bash
# The benchmark matrix of issue 6: t-LLZO 1x1x1, 2x2x2, 3x3x3; 1 and 2 threads; 1 and 2
# MPI ranks; llzo_dp against pair_style deepmd with the same model in one LAMMPS run each.
#   bash bench/run_matrix.sh [model.pth]     (results: bench/results/*.csv, log: bench/results/matrix.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
model=${1:-tests/data/test_model/test_model.pth}
out=bench/results/matrix.txt
: > "$out.tmp"
for cells in "1 1 1" "2 2 2" "3 3 3"; do
  for rt in "1 1" "1 2" "2 1"; do
    set -- $rt
    python bench/bench_vs_deepmd.py --cells $cells --ranks $1 --threads $2 --steps 10 --repeats 2 --model "$model" | tee -a "$out.tmp"
  done
done
mv "$out.tmp" "$out"
