#!/usr/bin/env bash
# A second test model for the model-deviation tests: same data and network as
# test_model.pth, other seeds (7), 300 steps. Writes test_model_b.pth.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
work=$(mktemp -d)
python - "$work" <<'PY'
import json, sys, os
d = json.load(open("input.json"))
d["training"]["numb_steps"] = 300
d["training"]["save_freq"] = 300
d["training"]["seed"] = 7
d["model"]["descriptor"]["seed"] = 7
d["model"]["fitting_net"]["seed"] = 7
here = os.getcwd()
for k in ("training_data", "validation_data"):
    if k in d["training"]:
        d["training"][k]["systems"] = [os.path.join(here, s) for s in d["training"][k]["systems"]]
json.dump(d, open(os.path.join(sys.argv[1], "input.json"), "w"), indent=1)
PY
export OMP_NUM_THREADS=1 DP_INTRA_OP_PARALLELISM_THREADS=1 DP_INTER_OP_PARALLELISM_THREADS=1 CUDA_VISIBLE_DEVICES=""
(cd "$work" && dp --pt train input.json && dp --pt freeze -o model.pth)
mv -f "$work/model.pth" test_model_b.pth
rm -rf "$work"
