"""The training stage of active learning: DeePMD-kit's `dp --pt train` on the data so far,
started from the previous iteration's model, then `dp --pt freeze`, as one dpdispatcher job.

The input is a DeePMD-kit training input (a template: model, loss, learning rate) whose data
systems and step count are replaced. The previous model enters as `--init-frz-model` (its
weights, this input's architecture must match), so an iteration fine-tunes instead of starting
over. The stage directory holds `input.json`, the job's logs, `lcurve.out` and, written last by
the job, `model.pth`; a stage whose `model.pth` exists is not run again.
"""
from __future__ import annotations

import json
from pathlib import Path

from .structures import _atomic_write_text


# A fine-tune from the previous model starts where DP-GEN2 starts its init-model trainings
# (RunDPTrain's init_model_start_lr / _start_pref_e / _start_pref_f defaults): from a small lr and
# with the energy weighted from the first step. With a from-scratch schedule (lr 1e-3, energy
# 0.02 against force 1000) 2,000 steps from the crystal-only model moved every LLZO energy by
# +50 meV/atom while the melt frames it was learning stayed near 0: no bias refit undoes that.
FINE_TUNE = {"start_lr": 1e-4, "start_pref_e": 0.1, "start_pref_f": 100.0}


def training_input(template: Path, train: list[Path], valid: list[Path], steps: int, seed: int,
                   fine_tune: bool = False) -> dict:
    """The template with its systems, steps and seeds replaced (systems as absolute paths); with
    `fine_tune`, FINE_TUNE's start lr and prefactors (their limits stay the template's)."""
    cfg = json.loads(Path(template).read_text())
    if not train:
        raise ValueError("training needs at least one deepmd/npy system")
    t = cfg["training"]
    t["training_data"]["systems"] = [str(Path(p).resolve()) for p in train]
    if valid:
        t.setdefault("validation_data", {"batch_size": "auto", "numb_btch": 1})["systems"] = [str(Path(p).resolve()) for p in valid]
    else:
        t.pop("validation_data", None)
    t["numb_steps"] = int(steps)
    t["seed"] = int(seed)
    t["save_freq"] = max(1, min(int(steps), t.get("save_freq", steps)))
    t["save_ckpt"] = "model.ckpt"  # the name command() restarts from
    t["disp_freq"] = max(1, min(int(steps), t.get("disp_freq", 100)))
    cfg["learning_rate"]["decay_steps"] = max(1, min(int(steps) // 10, cfg["learning_rate"].get("decay_steps", 5000)))
    if fine_tune:
        cfg["learning_rate"]["start_lr"] = FINE_TUNE["start_lr"]
        cfg["learning_rate"]["stop_lr"] = min(cfg["learning_rate"].get("stop_lr", 1e-5), FINE_TUNE["start_lr"])
        cfg["loss"].update(start_pref_e=FINE_TUNE["start_pref_e"], start_pref_f=FINE_TUNE["start_pref_f"])
    cfg.pop("_comment", None)
    return cfg


def command(init_model: Path | None) -> str:
    """The job's shell command. A rerun of a killed job finds the task directory as it was left
    (dpdispatcher keys it by the job's content) and continues from the newest checkpoint.
    Before freezing, the per-type energy bias is refitted by least squares on the training
    systems (`dp change-bias`, as models/llzo/train/train.sh does): a fine-tune whose energy
    weight is small for most of its steps leaves a per-type offset (+40 meV/atom on LLZO after
    2,000 steps from a crystal-only model), which shifts every energy and no force."""
    init = f" --init-frz-model {Path(init_model).resolve()}" if init_model else ""
    start = (f"if [ -e model.ckpt.pt ]; then dp --pt train input.json --skip-neighbor-stat --restart model.ckpt.pt; "
             f"else dp --pt train input.json --skip-neighbor-stat{init}; fi")
    bias = "dp --pt change-bias model.ckpt.pt -f systems.txt -n 0 -m change -o .biased.pt > bias.log 2>&1"
    # freeze into a temporary name, then rename: model.pth exists only when it is whole
    return (f"{{ {start}; }} >> train.log 2>&1 && {bias} && "
            "dp --pt freeze -c .biased.pt -o .model.tmp.pth > freeze.log 2>&1 && mv .model.tmp.pth model.pth")


def train(stage: Path, cfg: dict, init_model: Path | None = None, machine: dict | None = None) -> Path:
    """Runs the job (dpdispatcher, local shell by default); returns the frozen model."""
    from dpdispatcher import Machine, Resources, Submission, Task

    stage.mkdir(parents=True, exist_ok=True)
    model = stage / "model.pth"
    if model.exists():
        return model
    _atomic_write_text(stage / "input.json", json.dumps(cfg, indent=2) + "\n")
    _atomic_write_text(stage / "systems.txt", "".join(f"{p}\n" for p in cfg["training"]["training_data"]["systems"]))
    desc = machine or dict(
        machine=dict(batch_type="Shell", context_type="LocalContext", local_root=str(stage.parent),
                     remote_root=str(stage.parent / ".dispatch")),
        resources=dict(number_node=1, cpu_per_node=1, gpu_per_node=0, queue_name="", group_size=1))
    task = Task(command=command(init_model), task_work_path=f"{stage.name}/",
                forward_files=["input.json", "systems.txt"],
                backward_files=["model.pth", "lcurve.out", "train.log", "bias.log", "freeze.log"],
                outlog="out.log", errlog="err.log")
    Submission(work_base=".", machine=Machine.load_from_dict(desc["machine"]),
               resources=Resources.load_from_dict(desc["resources"]), task_list=[task]).run_submission(check_interval=2)
    if not model.exists():
        raise RuntimeError(f"training did not produce {model}: see {stage}/train.log")
    return model
