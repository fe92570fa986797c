#!/usr/bin/env bash
# Optional: run part of the training on a GPU machine that has python3 + torch but no
# deepmd-kit (the project's device machine). deepmd-kit 3.2.0's pure-Python parts travel
# in .devpy/site (made by copying deepmd, dargs, wcmatch, bracex, array_api_compat, einops
# from the venv; compiled ops omitted, not needed by se_e2_a training; mendeleev and lmdb
# stubbed, used only by features not used here). Checkpoints come back through $OUT and
# CPU training (train.sh) resumes from them.
# Making .devpy/site (in the repo root; add /.devpy/ to .git/info/exclude and pass it in `carry`):
#   SP=$LLZO_DP_VENV/lib/python3.11/site-packages; mkdir -p .devpy/site
#   for p in deepmd dargs typeguard wcmatch bracex array_api_compat einops deepmd_kit-3.2.0.dist-info; do cp -r $SP/$p .devpy/site/; done
#   rm -f .devpy/site/deepmd/lib/*.so; wrap load_mpi_library() at the end of .devpy/site/deepmd/pt/cxx_op.py
#   in try/except; stub lmdb (classes Environment, Transaction; open() raising) and mendeleev
#   (element(symbol).atomic_number from a symbol list).
#   usage (on the device, from the repo root): examples/model/device_train.sh SECONDS
set -u
SECS="${1:-420}"
export PYTHONPATH="$PWD/.devpy/site" PYTHONUNBUFFERED=1
cd examples/model
python3 -c "import deepmd.pt.entrypoints.main, torch; print('deepmd ok, cuda', torch.cuda.is_available())" || exit 3
nvidia-smi -L
mkdir -p checkpoints
ck=$(ls -1 checkpoints/model.ckpt-*.pt 2>/dev/null | sed 's/.*model.ckpt-\([0-9]*\).pt/\1 &/' | sort -n | tail -1 | cut -d' ' -f2)
python3 - <<'PY'
import json
c = json.load(open("input.json"))
c["training"]["training_data"]["batch_size"] = "auto:192"
json.dump(c, open("input_gpu.json", "w"), indent=1)
PY
if [ -n "$ck" ]; then extra=(--restart "$ck"); else extra=(); fi
date
timeout --signal=TERM "$SECS" python3 -m deepmd --pt train input_gpu.json "${extra[@]}" > "$OUT/train_gpu.log" 2>&1
echo "train rc $?"; date
ck=$(ls -1 checkpoints/model.ckpt-*.pt 2>/dev/null | sed 's/.*model.ckpt-\([0-9]*\).pt/\1 &/' | sort -n | tail -1 | cut -d' ' -f2)
echo "latest $ck"; ls -la checkpoints
cp "$ck" "$OUT/" ; cp lcurve.out "$OUT/lcurve_gpu.out"
tail -5 lcurve.out
