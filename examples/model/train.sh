#!/usr/bin/env bash
# Train (or resume) the LLZO DP model, then freeze it to llzo_dp_model.pth.
#
#   examples/model/train.sh            # resume from checkpoints/model.ckpt.pt if present, else start
#   MAX_MINUTES=50 examples/model/train.sh   # stop after 50 min (checkpoint every 1000 steps), then freeze
#   FREEZE_ONLY=1 STAGE=2 examples/model/train.sh   # just freeze that stage's latest checkpoint
#   OUT=other.pth ...                       # freeze to another file (default llzo_dp_model.pth)
#   STAGE=2 examples/model/train.sh          # stage N>1 (input_stageN.json): starts with --init-model from
#                                            # the newest stage-(N-1) checkpoint, resumes its own checkpoints
#
# One CPU thread (shared machine). Checkpoints: checkpoints/model.ckpt-<step>.pt plus the
# symlink checkpoints/model.ckpt.pt -> latest (max_ckpt_keep 1); learning curve: lcurve.out.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
# shellcheck disable=SC1091
source ../../scripts/env.sh
export OMP_NUM_THREADS=1 DP_INTRA_OP_PARALLELISM_THREADS=1 DP_INTER_OP_PARALLELISM_THREADS=1
mkdir -p checkpoints logs

STAGE="${STAGE:-1}"
prefix_of() { if [ "$1" = 1 ]; then echo model.ckpt; else echo "stage$1.ckpt"; fi; }
if [ "$STAGE" = 1 ]; then input=input.json; else input="input_stage$STAGE.json"; fi
prefix="$(prefix_of "$STAGE")"

latest_ckpt() {  # newest real checkpoint file of prefix $1 (the symlink may be missing after a copy)
  ls -1 checkpoints/"$1"-*.pt 2>/dev/null | sed 's/.*ckpt-\([0-9]*\).pt/\1 &/' | sort -n | tail -1 | cut -d' ' -f2
}

if [ -z "${FREEZE_ONLY:-}" ]; then
  ck="$(latest_ckpt "$prefix" || true)"
  if [ -n "$ck" ]; then
    echo "resuming from $ck"
    cmd=(dp --pt train "$input" --restart "$ck")
  elif [ "$STAGE" != 1 ]; then
    ck="$(latest_ckpt "$(prefix_of $((STAGE - 1)))")"
    echo "stage $STAGE: starting from the stage-$((STAGE - 1)) weights $ck"
    cmd=(dp --pt train "$input" --init-model "$ck")
  else
    echo "starting from scratch"
    cmd=(dp --pt train "$input")
  fi
  if [ -n "${MAX_MINUTES:-}" ]; then
    timeout --signal=TERM "$((MAX_MINUTES * 60))" "${cmd[@]}" >>logs/train.log 2>&1 || true
  else
    "${cmd[@]}" >>logs/train.log 2>&1
  fi
  rm -f out.json input_v2_compat.json  # dp's echo of the input, regenerated every run
  # keep only the newest checkpoint
  ck="$(latest_ckpt "$prefix")"
  for f in checkpoints/"$prefix"-*.pt; do [ "$f" = "$ck" ] || rm -f "$f"; done
  ln -sfn "$(basename "$ck")" checkpoints/"$prefix".pt
  steps="$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['training']['numb_steps'])" "$input")"
  if [ "$ck" = "checkpoints/$prefix-$steps.pt" ]; then python strip_checkpoint.py "$ck"; fi  # stage finished
fi

# freeze this stage's newest checkpoint (OUT, default the shipped file)
OUT="${OUT:-llzo_dp_model.pth}"
ck="$(latest_ckpt "$prefix")"
echo "freezing $ck"
dp --pt freeze -c "$ck" -o .freeze_tmp.pth >>logs/train.log 2>&1
mv -f .freeze_tmp.pth "$OUT"
echo "wrote $(realpath "$OUT") from $ck"
