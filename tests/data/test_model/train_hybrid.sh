#!/usr/bin/env bash
# A hybrid-descriptor test model: test_model.pth's se_e2_a plus a first-shell three-body se_e3
# (rcut 3.2 A), the descriptor of examples/model's angular probe h. Its graph names
# deepmd::tabulate_fusion_se_t, which llzo_dp registers; it runs on the TorchScript path only.
# Same data, 300 steps. Writes test_model_hybrid.pth.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
work=$(mktemp -d)
python - "$work" <<'PY'
import json, sys, os
d = json.load(open("input.json"))
d["_comment"] = "Hybrid test model (train_hybrid.sh): input.json's se_e2_a + se_e3 over the first shell."
se3 = {"type": "se_e3", "sel": [24, 8, 8, 16], "rcut_smth": 0.5, "rcut": 3.2, "neuron": [4, 8],
       "resnet_dt": False, "precision": "float64", "seed": 3}
d["model"]["descriptor"] = {"type": "hybrid", "list": [d["model"]["descriptor"], se3]}
d["training"]["numb_steps"] = 300
d["training"]["save_freq"] = 300
d["training"]["seed"] = 3
here = os.getcwd()
for k in ("training_data", "validation_data"):
    if k in d["training"]:
        d["training"][k]["systems"] = [os.path.join(here, s) for s in d["training"][k]["systems"]]
json.dump(d, open(os.path.join(sys.argv[1], "input.json"), "w"), indent=1)
PY
export OMP_NUM_THREADS=1 DP_INTRA_OP_PARALLELISM_THREADS=1 DP_INTER_OP_PARALLELISM_THREADS=1 CUDA_VISIBLE_DEVICES=""
(cd "$work" && dp --pt train input.json && dp --pt freeze -o model.pth)
mv -f "$work/model.pth" test_model_hybrid.pth
rm -rf "$work"
