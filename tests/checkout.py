"""The checkout under test: its plugin build, the test models, the shipped model, and LAMMPS
runs that load this checkout's build (not the copy scripts/setup.sh installed for the launcher).
pytest puts this directory on sys.path (tests/ has no __init__.py), so tests import it by name."""

from __future__ import annotations

import os
from pathlib import Path

from llzo_dp_tools.lammps import LammpsRun
from llzo_dp_tools.lammps import lammps as run_lammps

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "target" / "release" / "libllzo_dp.so"
TEST_MODEL = Path(os.environ.get("LLZO_DP_TEST_MODEL", ROOT / "tests" / "data" / "test_model" / "test_model.pth"))
# se_e2_a + first-shell se_e3 (tests/data/test_model/train_variant.sh hybrid): both evaluators
HYBRID_MODEL = ROOT / "tests" / "data" / "test_model" / "test_model_hybrid.pth"
SHIPPED_MODEL = ROOT / "models" / "llzo" / "llzo_dp_model.pth"
# llzo_dp built for the reference LAMMPS, where pair_style deepmd works (scripts/env.sh)
REF_PLUGIN_DIR = ROOT / os.environ.get("LLZO_DP_REF_TARGET", "target/ref-lammps") / "plugin"


def lammps(workdir: Path, script: str, np_ranks: int = 1, timeout: int = 900,
           env: dict | None = None, plugin_line: bool = True, lmp: Path | None = None,
           reference: bool = False) -> LammpsRun:
    """llzo_dp_tools.lammps.lammps with this checkout's build: loaded by `plugin load`
    (`plugin_line`), or in the reference LAMMPS (`reference`) from target/ref-lammps."""
    return run_lammps(workdir, script, plugin=PLUGIN if plugin_line else None, np_ranks=np_ranks,
                      timeout=timeout, env=env, lmp=lmp,
                      reference_plugin_dir=REF_PLUGIN_DIR if reference else None)
