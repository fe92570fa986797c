"""Bad input gives a LAMMPS ERROR line that names the problem, never a crash or hang."""

import signal

import pytest

from llzo_dp_tools.lammps import tllzo, write_data
from checkout import TEST_MODEL, lammps

BASE = """
units {units}
atom_style atomic
{newton}
read_data {data}
pair_style llzo_dp {style_args}
pair_coeff {coeff}
run 0
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    write_data(d / "system.data", *tllzo())
    (d / "not_a_model.pth").write_text("this is not a TorchScript archive\n")
    import torch

    class Plain(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    torch.jit.script(Plain()).save(str(d / "plain_torchscript.pth"))
    return d


CASES = {
    "missing_model": (dict(style_args="no_such_model.pth"), "model file 'no_such_model.pth' not found"),
    "not_torchscript": (dict(style_args="{d}/not_a_model.pth"), "cannot load"),
    "torchscript_not_deepmd": (dict(style_args="{d}/plain_torchscript.pth"), "not a DeePMD-kit model"),
    "unknown_element": (dict(coeff="* * Li La Xx O"), "'Xx' is not in the model's type map"),
    "too_few_names": (dict(coeff="* * Li La Zr"), "4 types, 3 names"),
    "too_many_names": (dict(coeff="* * Li La Zr O O"), "4 types, 5 names"),
    "coeff_not_star": (dict(coeff="1 1 Li La Zr O"), "must start with * *"),
    "units_lj": (dict(units="lj"), "does not support 'units lj'"),
    "units_lj_names_supported": (dict(units="lj"), "use one of units metal, real, si, cgs, electron, micro, nano"),
    "relative_without_value": (dict(style_args="{model} {model} relative"), "keyword 'relative' needs a value"),
    "relative_v_without_value": (dict(style_args="{model} {model} relative_v"), "keyword 'relative_v' needs a value"),
    "relative_negative": (dict(style_args="{model} {model} relative -1"),
                          "'relative' expects a positive number, the level E in the denominator |F| + E"),
    "relative_zero": (dict(style_args="{model} {model} relative_v 0 atomic"), "'relative_v' expects a positive number"),
    "relative_not_a_number": (dict(style_args="{model} {model} relative atomic"), "got 'atomic'"),
    "unknown_keyword": (dict(style_args="{model} speed fast"), "unknown keyword 'speed'"),
    "bad_value": (dict(style_args="{model} threads many"), "'threads' expects a non-negative integer, got 'many'"),
    "missing_value": (dict(style_args="{model} device"), "keyword 'device' needs a value"),
    "bad_device": (dict(style_args="{model} device tpu"), "got 'tpu'"),
    "newton_off": (dict(newton="newton off"), "requires newton pair on"),
    # the native evaluator takes hybrid se_e2_a + se_e3, but not a tabulated se_e3
    "native_on_compressed_hybrid": (dict(style_args="{hc} backend native"),
                                    "cannot run with 'backend native': model: a compressed se_e3 descriptor"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_clear_error(tmp_path, data, case, request):
    over, expected = CASES[case]
    fields = dict(units="metal", data=data / "system.data", newton="", style_args=str(TEST_MODEL),
                  coeff="* * Li La Zr O")
    # the compressed hybrid model is made (dp --pt compress, ~20 s) only for the case that uses it
    hc = request.getfixturevalue("compressed_hybrid_model") if any("{hc}" in v for v in over.values()) else None
    fields.update({k: v.format(d=data, model=TEST_MODEL, hc=hc) for k, v in over.items()})
    r = lammps(tmp_path, BASE.format(**fields), timeout=120)
    assert r.returncode > 0, f"expected a LAMMPS error exit, got {r.returncode}: {r.output[-2000:]}"
    assert r.returncode not in (128 + signal.SIGABRT, 128 + signal.SIGSEGV)
    errors = r.errors()
    assert errors, r.output[-2000:]
    assert any(expected in e for e in errors), errors
