#!/usr/bin/env bash
# Optional: run training steps on the GPU device machine (python3 + torch, no deepmd-kit, no
# network). deepmd-kit's pure-Python parts travel in .devpy/site (scripts/make_devpy.sh, here);
# checkpoints and the learning curve come back through $OUT, and train.sh on the CPU resumes
# from them (copy the checkpoint into checkpoints/ under its stage's name).
#
#   here:       scripts/make_devpy.sh
#   device:     run(command="examples/model/device_train.sh 420 input_stage3.json checkpoints/stage2.ckpt.pt",
#                   carry=[".devpy"])
#   arguments:  SECONDS [INPUT (default input.json)] [INIT (a checkpoint for --init-model; default:
#               resume INPUT's own newest checkpoint, or start fresh)] [BATCH (default auto:192)]
# Used for stage 1's first 4000 steps (7.5 min on an H100) and, in session 4, for a stage-3
# variant (batch auto:384; two runs side by side reached 2500 steps each in 8 min).
set -u
SECS="${1:-420}" INPUT="${2:-input.json}" INIT="${3:-}" BATCH="${4:-auto:192}"
export PYTHONPATH="$PWD/.devpy/site" PYTHONUNBUFFERED=1
cd "$(dirname "$0")"
python3 -c "import deepmd.pt.entrypoints.main, torch; print('deepmd ok, cuda', torch.cuda.is_available())" || exit 3
nvidia-smi -L
mkdir -p checkpoints
prefix=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['training']['save_ckpt'])" "$INPUT")
lcurve=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['training'].get('disp_file', 'lcurve.out'))" "$INPUT")
latest() { ls -1 "$prefix"-*.pt 2>/dev/null | sed 's/.*ckpt-\([0-9]*\).pt/\1 &/' | sort -n | tail -1 | cut -d' ' -f2; }
gpu_input="gpu_$(basename "$INPUT")"  # one per input: several runs may share the machine
python3 - "$INPUT" "$BATCH" "$gpu_input" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["training"]["training_data"]["batch_size"] = sys.argv[2]
json.dump(c, open(sys.argv[3], "w"), indent=1)
PY
ck=$(latest)
if [ -n "$ck" ]; then extra=(--restart "$ck"); elif [ -n "$INIT" ]; then extra=(--init-model "$INIT"); else extra=(); fi
date
timeout --signal=TERM "$SECS" python3 -m deepmd --pt train "$gpu_input" "${extra[@]}" > "$OUT/train_${gpu_input%.json}.log" 2>&1
echo "train rc $?"; date
ck=$(latest)
echo "latest $ck"
[ -n "$ck" ] && cp "$ck" "$OUT/" && python3 strip_checkpoint.py "$OUT/$(basename "$ck")"  # 1/3 the size to bring back
cp "$lcurve" "$OUT/" 2>/dev/null
tail -n 3 "$lcurve"
