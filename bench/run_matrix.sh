#!/usr/bin/env bash
# The benchmark matrix on the shipped model: t-LLZO 1x1x1, 2x2x2, 3x3x3 (1 rank x 1
# thread), 2x2x2 with 2 threads and with 2 MPI ranks, peak memory, and the compressed model;
# llzo_dp (native evaluator and TorchScript path) against pair_style deepmd with the same model
# in one LAMMPS run each.
#   bash bench/run_matrix.sh [model.pth] [single|parallel|all]
#   (results: bench/results/shipped_*.csv, console: bench/results/shipped_matrix_<part>.txt)
# "single" = the 1-thread runs (they can share the machine with one other single-threaded job),
# "parallel" = 2 threads and 2 ranks (they need both cores idle).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
model=$(realpath "${1:-models/llzo/llzo_dp_model.pth}")
part=${2:-all}
out=bench/results/shipped_matrix_$part.txt
: > "$out.tmp"
b() { python bench/bench_vs_deepmd.py --model "$model" "$@" | tee -a "$out.tmp"; }
if [ "$part" != parallel ]; then
  b --cells 1 1 1 --steps 20 --repeats 2 --out bench/results/shipped_1x1x1_r1_t1.csv
  b --cells 2 2 2 --steps 10 --repeats 3 --memory --out bench/results/shipped_2x2x2_r1_t1.csv
  b --cells 3 3 3 --steps 5 --repeats 2 --out bench/results/shipped_3x3x3_r1_t1.csv
  b --cells 2 2 2 --steps 10 --repeats 2 --compressed --out bench/results/shipped_2x2x2_r1_t1_compressed.csv
fi
if [ "$part" != single ]; then
  b --cells 2 2 2 --steps 10 --repeats 2 --threads 1 --out bench/results/shipped_2x2x2_r1_t1_idle.csv
  b --cells 2 2 2 --steps 10 --repeats 2 --threads 2 --out bench/results/shipped_2x2x2_r1_t2_idle.csv
  b --cells 2 2 2 --steps 10 --repeats 2 --ranks 2 --out bench/results/shipped_2x2x2_r2_t1_idle.csv
fi
mv "$out.tmp" "$out"
