#!/usr/bin/env bash
# Rebuild the shipped LLZO DP model: dataset -> inputs -> train -> freeze -> evaluate -> RDF.
#
#   models/llzo/train/rebuild.sh              # everything, from scratch (old data/checkpoints moved aside)
#   KEEP=1 models/llzo/train/rebuild.sh       # keep the datasets and the committed hybrid_tail checkpoint
#   MAX_MINUTES=60 models/llzo/train/rebuild.sh   # bound each stage's training time (default: its numb_steps)
#
# Costs (one CPU thread): dataset 24 min, SevenNet-0 labels 34 min, stage hybrid ~1 h, stage hybrid_tail
# ~35 min, stage sevennet_long ~2.5 h, stage sevennet_long_tail ~45 min (MODEL_CARD.md).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
# shellcheck disable=SC1091
source ../../../scripts/env.sh
export OMP_NUM_THREADS=1 DP_INTRA_OP_PARALLELISM_THREADS=1 DP_INTER_OP_PARALLELISM_THREADS=1
mkdir -p logs
if [ -z "${KEEP:-}" ]; then
  stamp="$(date +%Y%m%d-%H%M%S)"
  for d in data data-sevennet checkpoints; do [ -e "$d" ] && mv "$d" "old-$d-$stamp"; done
  rm -f lcurve_*.out
fi
python build_dataset.py 2>&1 | tee -a logs/build_dataset.log   # the frames, CHGNet-labelled (data/)
# the same frames relabelled by SevenNet-0, plus the strained cells around SevenNet-0's own 0 K
# t-LLZO (data-sevennet/; both resumable)
python relabel.py --reference sevennet --out data-sevennet 2>&1 | tee -a logs/relabel.log
python build_dataset.py --reference sevennet --only crys_tllzo_shape -o data-sevennet 2>&1 | tee -a logs/build_dataset.log
python make_input.py       # (to resume from the committed checkpoint instead: --sel 104 36 36 76)
# hybrid se_e2_a + se_e3 on CHGNet's labels, from scratch (5000 steps, ~1 h on one thread); with
# KEEP=1 and the finished tail checkpoint in the tree (checkpoints/hybrid_tail.ckpt-3000.pt) it is
# not needed
if [ -z "${KEEP:-}" ] || [ ! -e checkpoints/hybrid_tail.ckpt-3000.pt ]; then STAGE=hybrid OUT=logs/hybrid.pth ./train.sh; fi
STAGE=hybrid_tail OUT=logs/hybrid_tail.pth ./train.sh   # its tail (3000 steps, ~35 min): the model of 2026-11-27
STAGE=sevennet_long OUT=logs/sevennet_long.pth ./train.sh   # on SevenNet-0's labels (10000 steps, ~2.5 h)
STAGE=sevennet_long_tail ./train.sh   # its tail (3000 steps, ~45 min), change-bias, freeze: the shipped model
python evaluate.py
python rdf.py || echo "rdf.py failed (optional)"
