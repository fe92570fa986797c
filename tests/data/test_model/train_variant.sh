#!/usr/bin/env bash
# Variants of test_model.pth: same data as input.json, 300 steps, one change each.
#
#   ./train_variant.sh b        # other seeds (7): the second model of the model-deviation tests
#   ./train_variant.sh hybrid   # se_e2_a + a first-shell three-body se_e3 (rcut 3.2 A), the
#                               # descriptor of the shipped model (models/llzo); its graph names
#                               # deepmd::tabulate_fusion_se_t (called only when compressed); both
#                               # evaluators run it
#   ./train_variant.sh se_e2_r  # the radial-only descriptor (its graph names
#                               # deepmd::tabulate_fusion_se_r); both evaluators run it
#   ./train_variant.sh se_e3    # the three-body descriptor alone (rcut 4.0 A); both evaluators
#                               # run it
#   ./train_variant.sh se_atten # DPA-1 (se_atten, one attention layer, smooth_type_embedding
#                               # true); TorchScript runs it
#   ./train_variant.sh se_atten_nonsmooth  # the same with DeePMD-kit's default
#                               # smooth_type_embedding false: attention over the neighbours
#                               # inside rcut without the switch, whose forces DeePMD-kit itself
#                               # reproduces only to ~1e-5 relative (order of the neighbours)
#   ./train_variant.sh se_atten_v2  # the attention descriptor (DPA-1 family; its graph names
#                               # deepmd::tabulate_fusion_se_atten); TorchScript runs it
#   ./train_variant.sh dpa1_compressible  # se_atten_v2 without attention layers, the DPA-1
#                               # form 'dp --pt compress' takes (deepmd::tabulate_fusion_se_atten)
#   ./train_variant.sh dpa2     # a message-passing DPA-2 (repinit + two repformer layers, tiny
#                               # widths; its graph names deepmd::border_op); TorchScript runs
#                               # it on one rank, ghosts mapped to their local atoms
#   ./train_variant.sh dpa2_compressible  # dpa2 with a three-body repinit, both repinit parts
#                               # in 'strip' mode, the form 'dp --pt compress' tabulates
#                               # (deepmd::tabulate_fusion_se_atten and _se_t_tebd)
#   ./train_variant.sh dpa3     # a message-passing DPA-3 (two repflow layers, tiny widths),
#                               # float64; the same path as dpa2
#   ./train_variant.sh params   # input.json's model with one frame parameter and one atomic
#                               # parameter (numb_fparam 1, numb_aparam 1), trained on a copy of
#                               # the data with made-up values (seeded), for the fparam/aparam keywords
#   ./train_variant.sh <variant>_float32  # that variant with every "precision" of its
#                               # descriptor and fitting net set to float32 (e.g. se_e2_r_float32)
#
# Writes test_model_<variant>.pth.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
variant="${1:?usage: train_variant.sh b|hybrid|se_e2_r|se_e3|se_atten|se_atten_nonsmooth|se_atten_v2|dpa1_compressible|dpa2|dpa2_compressible|dpa3|params[_float32]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python - "$work" "$variant" <<'PY'
import json, os, sys
work, variant = sys.argv[1], sys.argv[2]
float32 = variant.endswith("_float32")
variant = variant.removesuffix("_float32")
d = json.load(open("input.json"))
t = d["training"]
t["numb_steps"] = t["save_freq"] = 300
if variant == "b":
    t["seed"] = d["model"]["descriptor"]["seed"] = d["model"]["fitting_net"]["seed"] = 7
elif variant == "hybrid":
    d["_comment"] = "Hybrid test model (train_variant.sh hybrid): input.json's se_e2_a + se_e3 over the first shell."
    se3 = {"type": "se_e3", "sel": [24, 8, 8, 16], "rcut_smth": 0.5, "rcut": 3.2, "neuron": [4, 8],
           "resnet_dt": False, "precision": "float64", "seed": 3}
    d["model"]["descriptor"] = {"type": "hybrid", "list": [d["model"]["descriptor"], se3]}
    t["seed"] = 3
elif variant == "se_e2_r":
    a = d["model"]["descriptor"]
    d["_comment"] = "se_e2_r test model (train_variant.sh se_e2_r)."
    d["model"]["descriptor"] = {"type": "se_e2_r", "sel": a["sel"], "rcut_smth": a["rcut_smth"], "rcut": a["rcut"],
                                "neuron": [4, 8], "resnet_dt": False, "precision": "float64", "seed": 5}
    t["seed"] = 5
elif variant == "se_e3":
    d["_comment"] = "se_e3 test model (train_variant.sh se_e3)."
    d["model"]["descriptor"] = {"type": "se_e3", "sel": [40, 12, 12, 30], "rcut_smth": 0.5, "rcut": 4.0,
                                "neuron": [4, 8], "resnet_dt": False, "precision": "float64", "seed": 12}
    t["seed"] = 12
elif variant in ("se_atten", "se_atten_nonsmooth"):
    a = d["model"]["descriptor"]
    d["_comment"] = f"se_atten (DPA-1) test model (train_variant.sh {variant})."
    d["model"]["descriptor"] = {"type": "se_atten", "sel": sum(a["sel"]), "rcut_smth": a["rcut_smth"],
                                "rcut": a["rcut"], "neuron": [4, 8], "axis_neuron": 4, "attn": 8, "attn_layer": 1,
                                "tebd_dim": 4, "smooth_type_embedding": variant == "se_atten",
                                "precision": "float64", "seed": 13}
    t["seed"] = 13
elif variant == "se_atten_v2":
    a = d["model"]["descriptor"]
    d["_comment"] = "se_atten_v2 test model (train_variant.sh se_atten_v2)."
    d["model"]["descriptor"] = {"type": "se_atten_v2", "sel": sum(a["sel"]), "rcut_smth": a["rcut_smth"],
                                "rcut": a["rcut"], "neuron": [4, 8], "axis_neuron": 4, "attn": 8, "attn_layer": 1,
                                "tebd_dim": 4, "precision": "float64", "seed": 6}
    t["seed"] = 6
elif variant == "dpa1_compressible":
    a = d["model"]["descriptor"]
    d["_comment"] = "Compressible DPA-1 test model (train_variant.sh dpa1_compressible)."
    d["model"]["descriptor"] = {"type": "se_atten_v2", "sel": sum(a["sel"]), "rcut_smth": a["rcut_smth"],
                                "rcut": a["rcut"], "neuron": [4, 8], "axis_neuron": 4, "attn": 8, "attn_layer": 0,
                                "tebd_dim": 4, "precision": "float64", "seed": 11}
    t["seed"] = 11
elif variant in ("dpa2", "dpa2_compressible"):
    a = d["model"]["descriptor"]
    d["_comment"] = "DPA-2 test model (train_variant.sh dpa2)."
    d["model"]["descriptor"] = {
        "type": "dpa2", "precision": "float64", "add_tebd_to_repinit_out": False, "seed": 8,
        "repinit": {"tebd_dim": 4, "rcut": a["rcut"], "rcut_smth": a["rcut_smth"], "nsel": sum(a["sel"]),
                    "neuron": [4, 8], "axis_neuron": 4, "activation_function": "tanh"},
        "repformer": {"rcut": 4.0, "rcut_smth": 3.5, "nsel": 40, "nlayers": 2, "g1_dim": 8, "g2_dim": 4,
                      "attn2_hidden": 4, "attn2_nhead": 1, "attn1_hidden": 8, "attn1_nhead": 1, "axis_neuron": 4,
                      "update_h2": False, "update_g1_has_conv": True, "update_g1_has_grrg": True,
                      "update_g1_has_drrd": True, "update_g1_has_attn": False, "update_g2_has_g1g1": False,
                      "update_g2_has_attn": False, "update_style": "res_residual", "update_residual": 0.01,
                      "update_residual_init": "norm", "attn2_has_gate": True, "use_sqrt_nnei": True,
                      "g1_out_conv": True, "g1_out_mlp": True},
    }
    t["seed"] = 8
    if variant == "dpa2_compressible":
        d["_comment"] = "Compressible DPA-2 test model (train_variant.sh dpa2_compressible)."
        d["model"]["descriptor"]["repinit"].update(
            tebd_input_mode="strip", use_three_body=True, three_body_sel=40, three_body_rcut=4.0,
            three_body_rcut_smth=3.5)
elif variant == "dpa3":
    a = d["model"]["descriptor"]
    d["_comment"] = "DPA-3 test model (train_variant.sh dpa3)."
    d["model"]["descriptor"] = {
        "type": "dpa3", "precision": "float64", "activation_function": "silut:10.0", "use_tebd_bias": False,
        "concat_output_tebd": False, "seed": 9,
        "repflow": {"n_dim": 8, "e_dim": 4, "a_dim": 4, "nlayers": 2, "e_rcut": a["rcut"], "e_rcut_smth": 5.3,
                    "e_sel": sum(a["sel"]), "a_rcut": 4.0, "a_rcut_smth": 3.5, "a_sel": 40, "axis_neuron": 4,
                    "fix_stat_std": 0.3, "a_compress_rate": 1, "a_compress_e_rate": 2, "a_compress_use_split": True,
                    "update_angle": True, "smooth_edge_update": True, "edge_init_use_dist": True,
                    "use_exp_switch": True, "update_style": "res_residual", "update_residual": 0.1,
                    "update_residual_init": "const"},
    }
    t["seed"] = 9
elif variant == "params":
    import shutil
    import numpy as np
    d["_comment"] = "fparam/aparam test model (train_variant.sh params)."
    d["model"]["fitting_net"].update(numb_fparam=1, numb_aparam=1)
    t["seed"] = 10
    rng = np.random.default_rng(10)
    for k in ("training_data", "validation_data"):
        copies = []
        for sys_dir in t[k]["systems"]:
            dst = os.path.join(work, k, os.path.basename(sys_dir))
            shutil.copytree(sys_dir, dst)
            natoms = len(open(os.path.join(dst, "type.raw")).read().split())
            for set_dir in sorted(x for x in os.listdir(dst) if x.startswith("set.")):
                nframes = np.load(os.path.join(dst, set_dir, "energy.npy")).shape[0]
                np.save(os.path.join(dst, set_dir, "fparam.npy"), rng.uniform(0.5, 1.5, (nframes, 1)))
                np.save(os.path.join(dst, set_dir, "aparam.npy"), rng.uniform(0.5, 1.5, (nframes, natoms)))
            copies.append(dst)
        t[k]["systems"] = copies
else:
    sys.exit(f"unknown variant {variant!r}: use b, hybrid, se_e2_r, se_e3, se_atten, se_atten_nonsmooth, se_atten_v2, dpa1_compressible, dpa2, dpa2_compressible, dpa3 or params")
if float32:
    def to_float32(v):
        if isinstance(v, dict):
            for k in v:
                v[k] = "float32" if k == "precision" else to_float32(v[k])
        elif isinstance(v, list):
            v = [to_float32(x) for x in v]
        return v
    desc = d["model"]["descriptor"]
    for v in [d["model"]["fitting_net"], *(desc["list"] if desc["type"] == "hybrid" else [desc])]:
        to_float32(v)
        v["precision"] = "float32"
    d["_comment"] += " float32 (train_variant.sh <variant>_float32)."
# dp runs in the work directory, so the data paths become absolute.
for k in ("training_data", "validation_data"):
    if k in t:
        t[k]["systems"] = [os.path.abspath(s) for s in t[k]["systems"]]
json.dump(d, open(os.path.join(work, "input.json"), "w"), indent=1)
PY
export OMP_NUM_THREADS=1 DP_INTRA_OP_PARALLELISM_THREADS=1 DP_INTER_OP_PARALLELISM_THREADS=1 CUDA_VISIBLE_DEVICES=""
(cd "$work" && dp --pt train input.json && dp --pt freeze -o model.pth)
mv -f "$work/model.pth" "test_model_$variant.pth"
