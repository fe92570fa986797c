#!/usr/bin/env bash
# Several training runs side by side on the GPU machine (device_train.sh each), for SECONDS,
# batches of BATCH; what each run brings back is packed into one $OUT/<input>.tar (the device
# returns at most 8 files per call, 16 MiB each: so at most 8 runs, one stripped checkpoint each).
# Each SPEC is INPUT[,INIT]: INIT a checkpoint for --init-model.
#
#   here:   scripts/make_devpy.sh    (and .gpu/ck/ for checkpoints from git history, e.g. stage 5:
#           git show e41bb1e:examples/model/checkpoints/stage5.ckpt-8000.pt > .gpu/ck/stage5.ckpt-8000.pt)
#   device: run(command="examples/model/device_sweep.sh 495 auto:1536 input_stage6a.json,../../.gpu/ck/stage5.ckpt-8000.pt ...",
#               carry=[".devpy", ".gpu"])
# Session 5: stage 6a-d (make_input.py STAGE6; a, b only: c and d were lost to the 8-file limit)
# and the capacity probe (make_input.py CAPACITY, from scratch; its four checkpoints, packed in one
# tar then, exceeded 16 MiB and were lost: logs/capacity_probe_device.txt has its learning curves).
set -u
SECS="$1" BATCH="$2"; shift 2
here=$(cd "$(dirname "$0")" && pwd)
root="$OUT"
names=()
for spec in "$@"; do
  input="${spec%%,*}" init=""
  [ "$spec" != "$input" ] && init="${spec#*,}"
  name=$(basename "$input" .json)
  names+=("$name")
  mkdir -p "$root/$name"
  OUT="$root/$name" "$here/device_train.sh" "$SECS" "$input" "$init" "$BATCH" > "$root/$name/driver.log" 2>&1 &
done
wait
nvidia-smi --query-gpu=name,memory.used --format=csv
for n in "${names[@]}"; do echo "== $n"; tail -n 3 "$root/$n/driver.log"; grep "wall time" "$root/$n"/train_*.log | tail -n 1; done
cd "$root" && for n in "${names[@]}"; do tar cf "$n.tar" "$n" && rm -rf "$n"; done
