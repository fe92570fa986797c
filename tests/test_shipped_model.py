"""Shipping checks of the shipped LLZO model against its reference method (models/llzo/
shipping_checks.py, fast version): 0 K lattice of t-LLZO, E(V), E(c/a) and the Li-disordered cells'
energies. The reference's numbers are golden data written by that script
(tests/golden/shipping_<method>.json); the model's are computed here with DeePMD-kit's ASE
calculator, so the suite needs neither CHGNet nor SevenNet."""
import importlib.util
import json

import pytest

from checkout import ROOT

MODEL = ROOT / "models" / "llzo" / "llzo_dp_model.pth"
REFERENCE = "sevennet"  # the reference method the shipped model was trained on (MODEL_CARD.md)
# Checks the shipped model is known to fail (MODEL_CARD.md, "Shipping checks"), strict: a model that
# passes one turns it into an error, so the list follows the model.
KNOWN_FAILURES: set = set()


def _checks_module():
    spec = importlib.util.spec_from_file_location("shipping_checks", ROOT / "models" / "llzo" / "shipping_checks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def rows():
    mod = _checks_module()
    ref = json.loads((ROOT / "tests" / "golden" / f"shipping_{REFERENCE}.json").read_text())
    return {r["check"]: r for r in mod.compare(mod.measure(str(MODEL)), ref)}


CHECKS = ["0 K a (relative)", "0 K c (relative)", "0 K c_over_a (relative)",
          "E_V_meV_atom (max |diff|, meV/atom)", "E_ca_meV_atom (max |diff|, meV/atom)",
          "disordered_minus_tllzo_meV_atom (max |diff|, meV/atom)"]


@pytest.mark.parametrize("check", [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason="known failure of the shipped model, MODEL_CARD.md"))
    if c in KNOWN_FAILURES else c for c in CHECKS])
def test_shipping_check(rows, check):
    r = rows[check]
    assert r["pass"], f"{check}: deviation {r['deviation']:.4g} beyond {r['tolerance']:.4g}"


def test_the_checks_see_a_lattice_change():
    """The comparison itself: a model 0.2 % off in c fails the c and c/a checks, not the a check."""
    mod = _checks_module()
    ref = json.loads((ROOT / "tests" / "golden" / f"shipping_{REFERENCE}.json").read_text())
    model = json.loads(json.dumps(ref))
    model["lattice"]["c"] *= 1.002
    model["lattice"]["c_over_a"] *= 1.002
    failed = {r["check"] for r in mod.compare(model, ref) if not r["pass"]}
    assert failed == {"0 K c (relative)", "0 K c_over_a (relative)"}
