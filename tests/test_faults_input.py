"""Faults of input and of the surroundings: each gives a LAMMPS ERROR (or a warning) that
names the problem and the fix, never a crash, a hang or a silent wrong number. Crafted
model files are refused before libtorch runs any of their code; killing the `lmp`
launcher ends LAMMPS too. tests/CATALOGUE.md lists every fault kind and its test."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from llzo_dp_tools.lammps import LMP, tllzo, write_data
from checkout import PLUGIN, ROOT, TEST_MODEL, lammps

CLI = ROOT / "target" / "release" / "llzo-dp"
MODEL_B = ROOT / "tests" / "data" / "test_model" / "test_model_b.pth"
# every frozen model committed to the repository
COMMITTED_MODELS = sorted(p for d in ("tests", "examples") for p in (ROOT / d).rglob("*.pth"))
CRAFTED_FILE = "written_by_model.bin"

BASE = """
units {units}
atom_style atomic
{newton}
{pre}
read_data {data}
{pair}
{coeff}
thermo_style custom step pe press
thermo_modify format float %.17g
run 0
"""

CRAFT = '''
import sys
from typing import List
import torch

class OnLoad(torch.nn.Module):
    """Writes a file from __setstate__, which torch.jit.load runs."""
    def __init__(self):
        super().__init__()
        self.w = torch.zeros(1)
    @torch.jit.export
    def __getstate__(self) -> List[torch.Tensor]:
        return [self.w]
    @torch.jit.export
    def __setstate__(self, state: List[torch.Tensor]) -> None:
        self.w = state[0]
        self.training = False
        torch.save(self.w, "{name}")
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

class InMethod(torch.nn.Module):
    """Looks like a DeePMD-kit model; get_rcut writes a file."""
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
    @torch.jit.export
    def get_rcut(self) -> float:
        torch.save(torch.zeros(1), "{name}")
        return 6.0
    @torch.jit.export
    def get_type_map(self) -> List[str]:
        return ["Li", "La", "Zr", "O"]

torch.jit.script(OnLoad()).save(sys.argv[1])
torch.jit.script(InMethod()).save(sys.argv[2])
'''.replace("{name}", CRAFTED_FILE)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults")
    write_data(d / "system.data", *tllzo())
    cell, pos, types = tllzo()
    pos[1] = pos[0]  # an atom placed twice
    write_data(d / "system_overlap.data", cell, pos, types)
    # a TensorFlow GraphDef starts with protobuf field 1 (node), not a zip header
    (d / "frozen_model.pb").write_bytes(b"\n\x1d\n\x05input\x12\x0bPlaceholder*\x07\n\x05dtype")
    # atom_modify id no needs IDs 0 in the data file
    head, atoms = (d / "system.data").read_text().split("Atoms # atomic\n\n")
    rows = ["0 " + row.split(None, 1)[1] for row in atoms.splitlines() if row.strip()]
    (d / "system_no_ids.data").write_text(head + "Atoms # atomic\n\n" + "\n".join(rows) + "\n")
    (d / "model_dir").mkdir()
    (d / "a_file").write_text("a file where a directory is expected\n")
    (d / "empty.pth").write_bytes(b"")
    blob = TEST_MODEL.read_bytes()
    (d / "truncated.pth").write_bytes(blob[: len(blob) // 2])
    (d / "not_json.json").write_text("{ this is not json\n")
    # TorchScript reads the classes' source, so the script must be a file
    (d / "craft.py").write_text(CRAFT)
    subprocess.run([sys.executable, "craft.py", "crafted_on_load.pth", "crafted_in_method.pth"],
                   check=True, cwd=d, capture_output=True, timeout=300)
    assert not (d / CRAFTED_FILE).exists()
    return d


@pytest.fixture(scope="module")
def reference(data):
    out = subprocess.run([str(CLI), "coverage", "build", "--model", str(TEST_MODEL), "-o", str(data / "ref.json"),
                          str(ROOT / "tests/data/test_model/data/training")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return data / "ref.json"


LLZO = f"pair_style llzo_dp {{style_args}}"
OVERLAY = f"pair_style hybrid/overlay llzo_dp {{style_args}} zero 6.0"

# case -> (fields that differ from a correct input, text the ERROR must contain)
ERRORS = {
    "tensorflow_pb": (dict(style_args="{d}/frozen_model.pb"), "dp convert-backend {d}/frozen_model.pb {d}/frozen_model.pth"),
    "model_is_directory": (dict(style_args="{d}/model_dir"), "is a directory, not a model file"),
    "empty_model_file": (dict(style_args="{d}/empty.pth"), "cannot load"),
    "truncated_model_file": (dict(style_args="{d}/truncated.pth"), "cannot load"),
    "crafted_model_writes_on_load": (dict(style_args="{d}/crafted_on_load.pth"), "was refused before loading"),
    "crafted_model_writes_in_method": (dict(style_args="{d}/crafted_in_method.pth"), "calls operators that DeePMD-kit models do not use (torch.save)"),
    "trust_model_bad_value": (dict(style_args="{model} trust_model maybe"), "'trust_model' expects yes or no, got 'maybe'"),
    "all_null_coeff": (dict(coeff="pair_coeff * * NULL NULL NULL NULL"), "llzo_dp has nothing to compute"),
    "all_null_coeff_under_overlay": (dict(pair=OVERLAY, coeff="pair_coeff * * llzo_dp NULL NULL NULL NULL\npair_coeff * * zero"),
                                     "llzo_dp has nothing to compute"),
    "atom_ids_off": (dict(pre="atom_modify id no", data="{d}/system_no_ids.data"), "remove 'atom_modify id no'"),
    "out_file_below_a_file": (dict(style_args="{model} {model_b} out_file {d}/a_file/md.out"), "out_file '{d}/a_file/md.out' cannot be written"),
    "out_file_is_a_directory": (dict(style_args="{model} {model_b} out_file {d}/model_dir"), "out_file '{d}/model_dir' cannot be written: it is a directory"),
    "coverage_dir_below_a_file": (dict(style_args="{model} coverage {ref} coverage_dir {d}/a_file/frames"), "coverage_dir '{d}/a_file/frames' cannot be written"),
    "coverage_dir_is_a_file": (dict(style_args="{model} coverage {ref} coverage_dir {d}/a_file"), "is a file, not a directory"),
    "coverage_reference_missing": (dict(style_args="{model} coverage {d}/no_such_reference.json"), "no_such_reference.json"),
    "coverage_reference_not_json": (dict(style_args="{model} coverage {d}/not_json.json"), "not_json.json"),
    "coverage_option_without_monitor": (dict(style_args="{model} coverage_every 5"), "needs the monitor switched on"),
    "coverage_threshold_out_of_range": (dict(style_args="{model} coverage {ref} coverage_threshold 2"), "'coverage_threshold' expects a number in [0, 1], got '2'"),
    "coverage_format_unknown": (dict(style_args="{model} coverage {ref} coverage_formats npy,pdb"), "unknown frame format 'pdb'"),
    "out_freq_zero": (dict(style_args="{model} {model_b} out_freq 0"), "'out_freq' expects an integer >= 1, got '0'"),
    "backend_unknown": (dict(style_args="{model} backend tensorflow"), "'backend' expects auto, native or torch, got 'tensorflow'"),
    "cuda_device_absent": (dict(style_args="{model} device cuda:7"), "a CUDA device was asked for but libtorch sees"),
    "missing_pair_coeff": (dict(coeff=""), "All pair coeffs are not set"),
    # used to give NaN energy (TorchScript) or a finite energy with NaN pressure (native)
    "overlapping_atoms": (dict(data="{d}/system_overlap.data"), "overlapping atoms (an atom created twice?)"),
    "overlapping_atoms_torch": (dict(data="{d}/system_overlap.data", style_args="{model} backend torch"),
                                "overlapping atoms (an atom created twice?)"),
    "deviation_models_differ_in_cutoff": (dict(style_args="{model} {rc5}"), "model deviation needs models with the same type map and cutoff"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_clear_error(tmp_path, data, case, request):
    over, expected = ERRORS[case]
    ref = request.getfixturevalue("reference") if any("{ref}" in v for v in over.values()) else None
    rc5 = request.getfixturevalue("model_rcut5") if any("{rc5}" in v for v in over.values()) else None
    fields = dict(units="metal", newton="", pre="", data=data / "system.data", pair=LLZO,
                  style_args=str(TEST_MODEL), coeff="pair_coeff * * Li La Zr O")
    fields.update(over)
    fields["pair"] = fields["pair"].format(style_args=fields["style_args"])
    fields = {k: str(v).format(d=data, model=TEST_MODEL, model_b=MODEL_B, ref=ref, rc5=rc5) for k, v in fields.items()}
    r = lammps(tmp_path, BASE.format(**fields), timeout=120)
    assert r.returncode > 0, f"expected a LAMMPS error exit, got {r.returncode}: {r.output[-2000:]}"
    assert r.returncode not in (128 + signal.SIGABRT, 128 + signal.SIGSEGV)
    errors = r.errors()
    assert any(expected.format(d=data) in e for e in errors), errors or r.output[-2000:]
    # a refused model ran none of its code: nothing was written
    assert not (tmp_path / CRAFTED_FILE).exists() and not (data / CRAFTED_FILE).exists()


def test_threads_beyond_the_hardware_are_capped(tmp_path, data):
    """`threads 100000` used to start 100000 OpenMP threads (no step within minutes); now
    the count is capped at the hardware threads, with a warning, and the numbers agree."""
    script = BASE.format(units="metal", newton="", pre="", data=data / "system.data", coeff="pair_coeff * * Li La Zr O",
                         pair=f"pair_style llzo_dp {TEST_MODEL} threads {{n}}")
    one = lammps(tmp_path / "one", script.replace("{n}", "1"), timeout=120)
    many = lammps(tmp_path / "many", script.replace("{n}", "100000"), timeout=60)
    assert one.returncode == 0 and many.returncode == 0, many.output[-2000:]
    assert "WARNING: pair_style llzo_dp: 'threads' asks for 100000 threads but this machine has" in many.output, \
        many.output[-2000:]
    np.testing.assert_allclose(many.runs[0]["PotEng"], one.runs[0]["PotEng"], rtol=1e-12)


def test_trusted_crafted_model_runs_its_code(tmp_path, data):
    """With `trust_model yes` the check is skipped: the crafted model's __setstate__ runs
    (and writes its file in the run's directory), which is what the check prevents."""
    fields = dict(units="metal", newton="", pre="", data=data / "system.data", coeff="pair_coeff * * Li La Zr O",
                  pair=f"pair_style llzo_dp {data / 'crafted_on_load.pth'} trust_model yes")
    r = lammps(tmp_path, BASE.format(**fields), timeout=120)
    assert (tmp_path / CRAFTED_FILE).exists(), r.output[-2000:]
    assert any("not a DeePMD-kit model" in e for e in r.errors()), r.errors()


@pytest.mark.parametrize("crafted", ["crafted_on_load", "crafted_in_method"])
def test_cli_info_refuses_crafted_models(tmp_path, data, crafted):
    model = data / f"{crafted}.pth"
    out = subprocess.run([str(CLI), "info", str(model)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "was refused before loading" in out.stderr, out.stderr
    assert "torch.save" in out.stderr
    assert not (tmp_path / CRAFTED_FILE).exists()
    trusted = subprocess.run([str(CLI), "info", str(model), "--trust-model"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    assert "refused" not in trusted.stderr
    if crafted == "crafted_on_load":
        assert (tmp_path / CRAFTED_FILE).exists(), trusted.stderr


def model_ids(p):
    return str(p.relative_to(ROOT))


@pytest.mark.parametrize("model", COMMITTED_MODELS, ids=model_ids)
def test_committed_models_pass_the_code_check(model):
    out = subprocess.run([str(CLI), "info", str(model)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "type map   Li La Zr O" in out.stdout


def test_compressed_model_passes_the_code_check(compressed_model):
    out = subprocess.run([str(CLI), "info", str(compressed_model)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


DESCRIPTORS = {
    "se_e2_r": {"type": "se_e2_r", "sel": [43, 19, 12, 59], "rcut_smth": 0.5, "rcut": 6.0, "neuron": [4, 8]},
    "se_atten": {"type": "se_atten", "sel": 60, "rcut_smth": 0.5, "rcut": 6.0, "neuron": [4, 8], "axis_neuron": 4,
                 "attn_layer": 1, "attn": 8},
    "se_atten_v2": {"type": "se_atten_v2", "sel": 60, "rcut_smth": 0.5, "rcut": 6.0, "neuron": [4, 8],
                    "axis_neuron": 4, "attn_layer": 1, "attn": 8},
    "dpa2": {"type": "dpa2", "repinit": {"rcut": 6.0, "rcut_smth": 0.5, "nsel": 60, "neuron": [4, 8], "axis_neuron": 4},
             "repformer": {"rcut": 4.0, "rcut_smth": 0.5, "nsel": 30, "nlayers": 1, "g1_dim": 8, "g2_dim": 4,
                           "axis_neuron": 4, "attn2_hidden": 4, "attn1_hidden": 4}},
    "dpa3": {"type": "dpa3", "repflow": {"n_dim": 8, "e_dim": 4, "a_dim": 4, "nlayers": 1, "e_rcut": 6.0,
                                         "e_rcut_smth": 0.5, "e_sel": 60, "a_rcut": 4.0, "a_rcut_smth": 0.5,
                                         "a_sel": 20, "axis_neuron": 4}},
}

SCRIPT_MODELS = """
import json, sys, torch
from deepmd.pt.model.model import get_model
model = json.load(open(sys.argv[1]))["model"]
model["descriptor"] = json.loads(sys.argv[2])
model["fitting_net"]["neuron"] = [8, 8]
m = get_model(model)
m.eval()
torch.jit.save(torch.jit.script(m), sys.argv[3], _extra_files={"data_modifier.pth": ""})
"""


def script_model(descriptor: dict, out):
    """An untrained DeePMD-kit 3.2 model with this descriptor, scripted as `dp --pt freeze` does."""
    import json

    subprocess.run([sys.executable, "-c", SCRIPT_MODELS, str(ROOT / "tests/data/test_model/input.json"),
                    json.dumps(descriptor), str(out)], check=True, capture_output=True, timeout=300,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    return out


@pytest.fixture(scope="module")
def model_rcut5(data):
    """se_e2_a with a 5 Å cutoff (the test model's is 6 Å)."""
    return script_model({"type": "se_e2_a", "sel": [43, 19, 12, 59], "rcut_smth": 0.5, "rcut": 5.0,
                         "neuron": [4, 8], "axis_neuron": 4}, data / "rcut5.pth")


@pytest.mark.parametrize("descriptor", sorted(DESCRIPTORS))
def test_other_deepmd_descriptors_pass_the_code_check(tmp_path, descriptor):
    """Untrained DeePMD-kit 3.2 models of other descriptor types, scripted as `dp --pt
    freeze` does: the code check lets them through (whether they then run is another matter)."""
    out = script_model(DESCRIPTORS[descriptor], tmp_path / f"{descriptor}.pth")
    r = subprocess.run([str(CLI), "info", str(out)], capture_output=True, text=True, timeout=300)
    assert "refused" not in r.stderr, r.stderr


LONG_RUN = """
units metal
atom_style atomic
read_data {data}
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
velocity all create 300 5
fix nve all nve
thermo 1
run 100000000
"""


def processes_in(workdir):
    """Pids of processes whose working directory is `workdir`."""
    found = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/cwd") == str(workdir):
                    found.append(int(p))
            except OSError:
                pass
    return found


def test_killing_the_launcher_ends_lammps(tmp_path, data):
    """kill -9 of the venv's `lmp` launcher used to leave LAMMPS running as an orphan,
    still writing; the launcher now execs LAMMPS, so its pid is LAMMPS's own."""
    (tmp_path / "in.lammps").write_text(f"plugin load {PLUGIN}\n"
                                        + LONG_RUN.format(data=data / "system.data", model=TEST_MODEL))
    env = dict(os.environ, OMP_NUM_THREADS="1", LLZO_DP_PLUGIN_DIR=str(tmp_path / "no-autoload"),
               PYTHONPATH=str(ROOT / "lammps-plugin" / "python"))  # this checkout's launcher module
    env.pop("LAMMPS_PLUGIN_PATH", None)
    proc = subprocess.Popen([str(LMP), "-in", "in.lammps", "-log", "log.lammps"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        log = tmp_path / "log.lammps"
        while time.time() < deadline and not (log.exists() and "Step" in log.read_text()):
            time.sleep(0.2)
        assert log.exists() and "Step" in log.read_text(), "LAMMPS did not start stepping"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        time.sleep(2)
        survivors = processes_in(tmp_path)
        assert not survivors, f"LAMMPS still runs after its launcher was killed: pids {survivors}"
    finally:
        for pid in processes_in(tmp_path):
            os.kill(pid, signal.SIGKILL)


# ---- unusual but valid geometry: runs, and agrees with DeePMD-kit's DeepPot -------------

from test_reference_deeppot import check_against_deeppot, deeppot, run_both  # noqa: E402,F401

GEOMETRIES = {
    # 4 atoms in a 5 Å cube: the box is smaller than the 6 Å cutoff, atoms see their own images
    "box_smaller_than_cutoff": (np.eye(3) * 5.0, [[0.3, 0.2, 0.1], [2.6, 2.4, 0.4], [0.5, 2.7, 2.5], [2.4, 0.6, 2.8]],
                                [1, 2, 3, 4], True),
    "one_atom_large_box": (np.eye(3) * 20.0, [[3.0, 4.0, 5.0]], [1], True),
    "one_atom_sees_its_images": (np.eye(3) * 4.0, [[1.0, 2.0, 3.0]], [4], True),
    "two_atom_cluster_no_pbc": (np.eye(3) * 30.0, [[10.0, 10.0, 10.0], [11.9, 10.3, 10.2]], [1, 4], False),
}


@pytest.mark.parametrize("backend", ["torch", "native"])
@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
def test_unusual_geometry_matches_deeppot(tmp_path, deeppot, geometry, backend):
    cell, pos, types, periodic = GEOMETRIES[geometry]
    r, d, ref = run_both(tmp_path, deeppot, cell, np.array(pos, dtype=float), np.array(types), periodic=periodic,
                         backend=backend)
    check_against_deeppot(r, d, ref)


EMPTY_RANK = """
units metal
atom_style atomic
boundary f f f
{processors}
read_data ../system.data
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
dump d all custom 1 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
thermo_style custom step pe press
thermo_modify format float %.17g
run 0
"""


def test_rank_without_atoms(tmp_path):
    """A cluster in the left half of the box: with `processors 2 1 1` rank 1 owns no atom
    and must still take part in every collective; energy and forces equal the serial run."""
    from llzo_dp_tools.lammps import read_dump

    cell, pos, types = tllzo()
    keep = np.linalg.norm(pos - pos.mean(axis=0), axis=1) < 5.0
    cluster = pos[keep] - pos[keep].min(axis=0) + 1.0
    write_data(tmp_path / "system.data", np.eye(3) * 40.0, cluster, types[keep])
    runs = {}
    for n in (1, 2):
        grid = "processors 2 1 1" if n == 2 else ""
        r = lammps(tmp_path / f"np{n}", EMPTY_RANK.format(model=TEST_MODEL, processors=grid), np_ranks=n, timeout=300)
        assert r.returncode == 0, r.output[-2000:]
        runs[n] = (r.runs[0]["PotEng"][0], read_dump(tmp_path / f"np{n}" / "dump.txt")[0])
    assert abs(runs[1][0] - runs[2][0]) < 1e-10 * abs(runs[1][0])
    for c in ("fx", "fy", "fz"):
        assert np.abs(runs[1][1][c] - runs[2][1][c]).max() < 1e-10
