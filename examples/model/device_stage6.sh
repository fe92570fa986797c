#!/usr/bin/env bash
# Stage-6 sweep on the GPU machine: the four variants of make_input.py's STAGE6 side by side,
# each with batches of ~1536 atoms for SECONDS; checkpoints and learning curves come back in
# $OUT/<variant>/. Variants a, b, d start from the stage-5 checkpoint (git history, not in the tree):
#
#   here:   scripts/make_devpy.sh
#           mkdir -p .gpu/ck && git show e41bb1e:examples/model/checkpoints/stage5.ckpt-8000.pt > .gpu/ck/stage5.ckpt-8000.pt
#           python examples/model/strip_checkpoint.py .gpu/ck/stage5.ckpt-8000.pt
#   device: run(command="examples/model/device_stage6.sh 500", carry=[".devpy", ".gpu"])
set -u
SECS="${1:-480}"
here=$(cd "$(dirname "$0")" && pwd)
root="$OUT"
for v in a b c d; do
  case $v in
    c) init=checkpoints/stage2.ckpt-12000.pt ;;
    *) init=../../.gpu/ck/stage5.ckpt-8000.pt ;;
  esac
  mkdir -p "$root/$v"
  OUT="$root/$v" "$here/device_train.sh" "$SECS" "input_stage6$v.json" "$init" auto:1536 > "$root/$v/driver.log" 2>&1 &
done
wait
nvidia-smi --query-gpu=name,memory.used --format=csv
for v in a b c d; do echo "== $v"; tail -n 4 "$root/$v/driver.log"; grep "wall time" "$root/$v"/train_*.log | tail -n 2; done
