#!/usr/bin/env bash
# Train and freeze the small LLZO test model (DeePMD-kit 3.2.0, PyTorch backend, CPU).
# Run from anywhere; works inside tests/data/test_model.  Uses `dp` from PATH
# (activate the project venv first) or the command in $DP.
# Data: python make_dataset.py (already committed under data/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
DP=${DP:-dp}
# single-threaded, CPU only, so the result is reproducible and the run stays small
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export DP_INTRA_OP_PARALLELISM_THREADS=${DP_INTRA_OP_PARALLELISM_THREADS:-1}
export DP_INTER_OP_PARALLELISM_THREADS=${DP_INTER_OP_PARALLELISM_THREADS:-1}
export CUDA_VISIBLE_DEVICES=""

"$DP" --pt train input.json
"$DP" --pt freeze -o test_model.new.pth
mv -f test_model.new.pth test_model.pth
# intermediate files: checkpoints (~1.4 MB each), DeePMD's bookkeeping
rm -f model.ckpt*.pt checkpoint out.json input_v2_compat.json
echo "frozen model: $(pwd)/test_model.pth"
