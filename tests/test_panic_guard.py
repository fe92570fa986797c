"""A panic inside the Rust core (a bug) becomes a LAMMPS ERROR line and a clean error exit,
never an abort. A debug build of the plugin panics on purpose inside compute when
LLZO_DP_DEBUG_PANIC=compute (release builds have no such hook)."""

import os
import signal
import subprocess

import pytest

from checkout import ROOT, TEST_MODEL, lammps
from llzo_dp_tools.lammps import tllzo, write_data

SCRIPT = """
plugin load {plugin}
units metal
atom_style atomic
read_data {data}
pair_style llzo_dp {model}
pair_coeff * * Li La Zr O
run 0
"""


@pytest.fixture(scope="module")
def debug_plugin():
    """The debug build of the plugin (cargo build, not --release)."""
    p = subprocess.run(["cargo", "build", "--lib", "--quiet"], cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ), timeout=1800)
    assert p.returncode == 0, p.stderr[-3000:]
    return ROOT / "target" / "debug" / "libllzo_dp.so"


@pytest.mark.parametrize("hook", ["compute", ""])
def test_panic_in_compute_is_a_lammps_error(tmp_path, debug_plugin, hook):
    write_data(tmp_path / "system.data", *tllzo())
    script = SCRIPT.format(plugin=debug_plugin, data=tmp_path / "system.data", model=TEST_MODEL)
    # the debug build only: the launcher's own copy would take pair_style llzo_dp first
    env = {"LLZO_DP_DEBUG_PANIC": hook, "LLZO_DP_PLUGIN_DIR": str(tmp_path / "no-autoload")}
    r = lammps(tmp_path, script, timeout=300, plugin_line=False, env=env)
    if not hook:  # the same run without the hook: the debug build itself works
        assert r.returncode == 0, r.output[-2000:]
        assert not r.errors()
        return
    assert r.returncode > 0, f"expected a LAMMPS error exit, got {r.returncode}: {r.output[-2000:]}"
    assert r.returncode not in (128 + signal.SIGABRT, 128 + signal.SIGSEGV, -signal.SIGABRT, -signal.SIGSEGV)
    errors = r.errors()
    assert any("compute panicked" in e and "LLZO_DP_DEBUG_PANIC=compute" in e for e in errors), r.output[-2000:]
