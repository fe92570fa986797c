"""scripts/deepmd_lmp_suite.py, which runs DeePMD-kit's own LAMMPS tests against llzo_dp: the
rewrite of their pair styles, the choice of test files and the making of missing models, on
files shaped like theirs."""
import importlib.util

from checkout import ROOT

spec = importlib.util.spec_from_file_location("deepmd_lmp_suite", ROOT / "scripts" / "deepmd_lmp_suite.py")
suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)

TEST_FILE = '''
pb_file = Path(__file__).parent / "deeppot_sea.pth"
# pair_style deepmd is DeePMD-kit's; the deepmd package is imported below
def test_pair_deepmd(lammps):
    lammps.pair_style(f"deepmd {pb_file.resolve()}")
    lammps.pair_coeff("* *")
def test_model_devi(lammps):
    lammps.pair_style(
        f"deepmd {pb_file.resolve()} {pb_file2.resolve()} out_file {md_file.resolve()} out_freq 1"
    )
def test_null(lammps):
    lammps.pair_style(f"hybrid/scaled 0.5 deepmd {pb_file.resolve()} 0.5 deepmd {pb_file.resolve()}")
    lammps.pair_coeff("* * deepmd 1 H NULL")
'''


def test_rewrite_turns_every_pair_style_deepmd_into_llzo_dp(tmp_path):
    f = tmp_path / "test_lammps_pt.py"
    f.write_text(TEST_FILE)
    assert suite.rewrite([f]) == 5
    text = f.read_text()
    assert 'pair_style(f"llzo_dp {pb_file.resolve()}")' in text
    assert 'f"llzo_dp {pb_file.resolve()} {pb_file2.resolve()} out_file' in text
    assert "hybrid/scaled 0.5 llzo_dp {pb_file.resolve()} 0.5 llzo_dp {" in text
    assert 'pair_coeff("* * llzo_dp 1 H NULL")' in text
    assert "# pair_style deepmd is DeePMD-kit's; the deepmd package" in text  # prose untouched


def test_pytorch_files_are_chosen_and_spin_and_pt2_left_out_with_the_reason(tmp_path):
    for name in ("test_lammps_pt.py", "test_lammps_spin_pt.py", "test_lammps_dpa3_pt2.py"):
        (tmp_path / name).write_text(TEST_FILE)
    (tmp_path / "test_lammps.py").write_text('pb = "deeppot.pb"\nlammps.pair_style(f"deepmd {pb}")\n')
    run, left = suite.test_files(tmp_path)
    assert [f.name for f in run] == ["test_lammps_pt.py"]
    assert set(left) == {"test_lammps_spin_pt.py", "test_lammps_dpa3_pt2.py"}
    assert "spin" in left["test_lammps_spin_pt.py"] and ".pt2" in left["test_lammps_dpa3_pt2.py"]


def test_missing_models_are_made_by_the_checkouts_generator(tmp_path):
    """A model the checkout lacks and has no .yaml for is made by its own gen_<name>.py (DPA-2's
    test model comes only that way); a generator that writes the .pth and then stops (its .pt2
    export) still gives the model, with the stop noted; no generator is said so."""
    (tmp_path / "gen_dpa2.py").write_text(
        "from pathlib import Path\nimport sys\nPath('deeppot_dpa2.pth').write_text('model')\n"
        "sys.exit('pt2 export failed')\n")
    (tmp_path / "gen_dpa3.py").write_text("from pathlib import Path\nPath('deeppot_dpa3.pth').write_text('m')\n")
    notes = suite.make_missing_models({tmp_path / n for n in ("deeppot_dpa2.pth", "deeppot_dpa3.pth", "deeppot_x.pth")})
    assert (tmp_path / "deeppot_dpa2.pth").read_text() == "model"
    assert notes == ["deeppot_dpa2.pth: made by gen_dpa2.py (which then stopped: ['pt2 export failed'])",
                     "deeppot_dpa3.pth: made by gen_dpa3.py",
                     "deeppot_x.pth: not in the checkout, with no deeppot_x.yaml or gen_x.py to make it"]
