#!/usr/bin/env bash
# Small se_e2_a models in the layouts DeePMD-kit 3.2 writes that test_model.pth does not show
# (same data as input.json, 20 steps, nets [4, 8] / [8, 8]: what they fit does not matter,
# only that llzo_dp computes what DeepPot computes):
#
#   ./train_layouts.sh default_precision   # "precision" left out of the input (DeePMD-kit's
#                                          # "default": float64 weights)
#   ./train_layouts.sh float32             # precision float32: the native evaluator refuses it
#   ./train_layouts.sh one_side            # type_one_side true: one embedding net per
#                                          # neighbor type (filter_layers.networks.0..ntypes-1)
#   ./train_layouts.sh two_side            # type_one_side false: one per type pair
#                                          # (networks.0..ntypes²-1)
#
# one_side and two_side are then written again without "type_one_side" in the definition
# the model carries (dp convert-backend's serialized form, as DeePMD-kit's own converted test
# models are): the nets alone say which layout it is.
#
# Writes test_model_<variant>.pth.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
variant="${1:?usage: train_layouts.sh default_precision|float32|one_side|two_side}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python - "$work" "$variant" <<'PY'
import json, os, sys
work, variant = sys.argv[1], sys.argv[2]
d = json.load(open("input.json"))
m, t = d["model"], d["training"]
m["descriptor"].update(neuron=[4, 8], axis_neuron=4)
m["fitting_net"]["neuron"] = [8, 8]
t["numb_steps"] = t["save_freq"] = 20
t["disp_freq"] = 10
if variant == "default_precision":
    del m["descriptor"]["precision"], m["fitting_net"]["precision"]
elif variant == "float32":
    m["descriptor"]["precision"] = m["fitting_net"]["precision"] = "float32"
elif variant in ("one_side", "two_side"):
    m["descriptor"]["type_one_side"] = variant == "one_side"
else:
    sys.exit(f"unknown variant {variant!r}: use default_precision, float32, one_side or two_side")
d["_comment"] = f"Layout test model (train_layouts.sh {variant})."
# dp runs in the work directory, so the data paths become absolute.
for k in ("training_data", "validation_data"):
    t[k]["systems"] = [os.path.abspath(s) for s in t[k]["systems"]]
json.dump(d, open(os.path.join(work, "input.json"), "w"), indent=1)
PY
export OMP_NUM_THREADS=1 DP_INTRA_OP_PARALLELISM_THREADS=1 DP_INTER_OP_PARALLELISM_THREADS=1 CUDA_VISIBLE_DEVICES=""
(cd "$work" && dp --pt train input.json && dp --pt freeze -o model.pth)
if [ "$variant" = one_side ] || [ "$variant" = two_side ]; then
  python - "$work/model.pth" <<'PY'
import sys
from deepmd.pt.utils.serialization import deserialize_to_file, serialize_from_file
data = serialize_from_file(sys.argv[1])
data["model_def_script"]["descriptor"].pop("type_one_side")
deserialize_to_file(sys.argv[1], data)
PY
fi
mv -f "$work/model.pth" "test_model_$variant.pth"
