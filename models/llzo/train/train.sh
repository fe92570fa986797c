#!/usr/bin/env bash
# Train (or resume) one stage of the shipped LLZO model, then freeze it to ../llzo_dp_model.pth.
#
#   STAGE=hybrid models/llzo/train/train.sh        # first stage, from scratch (5000 steps)
#   STAGE=hybrid_tail models/llzo/train/train.sh   # its tail (--init-model from the newest hybrid
#                                                  # checkpoint), then change-bias + freeze
#   STAGE=sevennet models/llzo/train/train.sh      # the tail's weights, energy bias refitted on
#                                                  # data-sevennet/, trained on SevenNet-0 labels
#   STAGE=sevennet_shape ...                       # then the 0 K shape weighted up (candidate)
#   STAGE=sevennet_long ...                        # the tail's weights on SevenNet-0 labels, 10000
#                                                  # steps of a 30000-step schedule (resumable, MAX_MINUTES)
#   STAGE=sevennet_long_tail ...                  # its tail: lr 1e-4 -> 1e-6 over 3000 steps from
#                                                  # sevennet_long's newest checkpoint (step 10000)
#   STAGE=paper_sevennet ...                       # the paper's se_e2_a [10, 20, 40] on the same
#                                                  # labels, from the 2026-11-26 paper-architecture
#                                                  # model (36000 steps on CHGNet labels, b0ace4a)
#   MAX_MINUTES=50 ...                             # stop after 50 min (checkpoint every 1000 steps), then freeze
#   FREEZE_ONLY=1 STAGE=hybrid_tail ...            # just freeze the stage's latest checkpoint
#   OUT=other.pth ...                              # freeze to another file (default ../llzo_dp_model.pth)
#
# A stage resumes its own newest checkpoint (--restart) if there is one. One CPU thread.
# Checkpoints: checkpoints/<prefix>-<step>.pt plus the symlink checkpoints/<prefix>.pt -> latest;
# learning curve: the input's disp_file; log: logs/train.log.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
# shellcheck disable=SC1091
source ../../../scripts/env.sh
export OMP_NUM_THREADS=1 DP_INTRA_OP_PARALLELISM_THREADS=1 DP_INTER_OP_PARALLELISM_THREADS=1
mkdir -p checkpoints logs

STAGE="${STAGE:-hybrid}"
# per stage: input, checkpoint prefix, the prefix it starts from (--init-model; none = scratch),
# whether freezing refits the per-type energy bias on the training set first (dp change-bias),
# the data the stage trains on, and whether it refits the bias before training too (prebias: the
# stage it starts from learnt another reference method's labels)
bias=keep data=data prebias=no
case "$STAGE" in
  hybrid) input=input_hybrid.json prefix=hybrid.ckpt from=none ;;
  hybrid_tail) input=input_hybrid_tail.json prefix=hybrid_tail.ckpt from=hybrid.ckpt bias=change ;;
  sevennet) input=input_sevennet.json prefix=sevennet.ckpt from=hybrid_tail.ckpt bias=change data=data-sevennet prebias=yes ;;
  sevennet_shape) input=input_sevennet_shape.json prefix=sevennet_shape.ckpt from=sevennet.ckpt bias=change data=data-sevennet ;;
  sevennet_long) input=input_sevennet_long.json prefix=sevennet_long.ckpt from=hybrid_tail.ckpt bias=change data=data-sevennet prebias=yes ;;
  sevennet_long_tail) input=input_sevennet_long_tail.json prefix=sevennet_long_tail.ckpt from=sevennet_long.ckpt bias=change data=data-sevennet ;;
  paper_sevennet) input=input_paper_sevennet.json prefix=paper_sevennet.ckpt from=paper_2026-11-26.ckpt bias=change data=data-sevennet prebias=yes ;;
  *) echo "unknown STAGE $STAGE (hybrid, hybrid_tail, sevennet, sevennet_shape, sevennet_long, sevennet_long_tail, paper_sevennet)" >&2; exit 2 ;;
esac
PAPER_COMMIT=b0ace4a PAPER_CKPT=examples/model/checkpoints/stage2.ckpt-12000.pt
if [ "$from" = paper_2026-11-26.ckpt ] && [ ! -f checkpoints/paper_2026-11-26.ckpt-12000.pt ]; then
  # the paper-architecture model's last checkpoint lives in git history, not in the tree
  git -C "$HERE" show "$PAPER_COMMIT:$PAPER_CKPT" >checkpoints/.paper.tmp
  mv checkpoints/.paper.tmp checkpoints/paper_2026-11-26.ckpt-12000.pt
fi

latest_ckpt() {  # newest real checkpoint file of prefix $1 (the symlink may be missing after a copy)
  ls -1 checkpoints/"$1"-*.pt 2>/dev/null | sed 's/.*ckpt-\([0-9]*\).pt/\1 &/' | sort -n | tail -1 | cut -d' ' -f2
}

steps="$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['training']['numb_steps'])" "$input")"
if [ -z "${FREEZE_ONLY:-}" ]; then
  # per-system force weights for the inputs' prefactor-force term (none when no system is weighted)
  PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" python -c "import sys, build_dataset; build_dataset.write_force_weights(sys.argv[1])" "$data"
  ck="$(latest_ckpt "$prefix" || true)"
  if [ "$ck" = "checkpoints/$prefix-$steps.pt" ]; then
    echo "stage $STAGE already finished ($ck)"
    cmd=(true)
  elif [ -n "$ck" ]; then
    echo "resuming from $ck"
    cmd=(dp --pt train "$input" --restart "$ck")
  elif [ "$from" != none ]; then
    ck="$(latest_ckpt "$from")"
    [ -n "$ck" ] || { echo "stage $STAGE starts from a $from checkpoint: none in checkpoints/" >&2; exit 2; }
    if [ "$prebias" = yes ]; then
      # other labels, other per-type energy zero: refit it before training, not only after
      echo "refitting the energy bias of $ck on $data/training"
      dp --pt change-bias "$ck" -s "$data/training" -n 0 -m change -o "checkpoints/.init-$prefix.pt" >>logs/train.log 2>&1
      ck="checkpoints/.init-$prefix.pt"
    fi
    echo "stage $STAGE: starting from the weights $ck"
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
  ck="$(latest_ckpt "$prefix" || true)"
  [ -n "$ck" ] || { echo "stage $STAGE stopped before its first checkpoint (save_freq steps): nothing to freeze; rerun to go on" >&2; exit 1; }
  for f in checkpoints/"$prefix"-*.pt; do [ "$f" = "$ck" ] || rm -f "$f"; done
  ln -sfn "$(basename "$ck")" checkpoints/"$prefix".pt
  if [ "$ck" = "checkpoints/$prefix-$steps.pt" ]; then python strip_checkpoint.py "$ck"; fi  # stage finished
fi

# freeze this stage's newest checkpoint (OUT, default the shipped file)
OUT="${OUT:-../llzo_dp_model.pth}"
ck="$(latest_ckpt "$prefix")"
if [ "$bias" = change ]; then
  # training with batches of one frame leaves the per-type energy zero slightly off; DeePMD-kit's
  # least-squares refit of that bias on the training set removes the offset (MODEL_CARD.md)
  echo "refitting the energy bias of $ck on $data/training"
  dp --pt change-bias "$ck" -s "$data/training" -n 0 -m change -o .bias_tmp.pt >>logs/train.log 2>&1
  ck=.bias_tmp.pt
fi
echo "freezing $ck"
dp --pt freeze -c "$ck" -o .freeze_tmp.pth >>logs/train.log 2>&1
rm -f .bias_tmp.pt
mv -f .freeze_tmp.pth "$OUT"
echo "wrote $(realpath "$OUT") from $ck"
