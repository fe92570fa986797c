"""The DFT labeller's bookkeeping (llzo_dp_tools.dft), with a stand-in for Debian's Python+GPAW:
results cached by frame hash and not recomputed, one failing frame not stopping the batch, the
settings in the key, and the result files written whole. The stand-in interpreter answers
`-c "import gpaw..."` with a version and, given a job, writes the energy as a known function of
the positions, so what comes back can be checked against an independent computation."""
import json
import os
import stat
import sys
import textwrap

import numpy as np
import pytest

from llzo_dp_tools import dft
from llzo_dp_tools import structures as L

FAKE = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    import numpy as np
    if sys.argv[1] == "-c":
        print("fake-1.0")
        sys.exit(0)
    job_path, out = sys.argv[2], sys.argv[3]
    job = json.load(open(job_path))
    with open(os.environ["FAKE_GPAW_CALLS"], "a") as log:
        log.write(json.dumps(job["settings"]) + "\\n")
    pos = np.array(job["positions"])
    if pos[0, 0] < 0:
        sys.exit("SCF did not converge")
    open(out + ".txt", "w").write("fake log")
    e = float(np.sum(pos ** 2)) * job["settings"]["ecut"] / 1000
    np.savez(out + ".tmp.npz", energy=e, forces=-2 * pos, stress=np.eye(3) * 0.01, wall_s=0.0,
             scf_iterations=7)
    os.replace(out + ".tmp.npz", out)
""")


@pytest.fixture
def fake_gpaw(tmp_path, monkeypatch):
    exe = tmp_path / "fake-python"
    exe.write_text(FAKE.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls.log"
    calls.write_text("")
    cache = tmp_path / "cache"
    monkeypatch.setenv("LLZO_DP_CACHE", str(cache))
    monkeypatch.setenv("FAKE_GPAW_CALLS", str(calls))
    monkeypatch.setattr(dft, "GPAW_PYTHON", str(exe))
    dft.gpaw_version.cache_clear()
    dft.setups_fingerprint.cache_clear()
    setups = dft.la_setup_dir()
    setups.mkdir(parents=True)
    for f in dft.LA_SETUP_FILES:  # an existing La setup: make_la_setup leaves it as it is
        (setups / f).write_text(f"fake {f}")
    yield calls
    dft.gpaw_version.cache_clear()
    dft.setups_fingerprint.cache_clear()


def frame(shift: float) -> L.Structure:
    return L.Structure(np.eye(3) * 5.0, [[shift, 0.5, 0.5], [1.0, 1.0, 1.0]], ["Li", "O"])


def n_calls(calls) -> int:
    return len(calls.read_text().splitlines())


def test_results_come_back_in_order_and_are_cached(fake_gpaw):
    frames = [frame(0.1), frame(0.2), frame(0.3)]
    st = dft.DftSettings(ecut=500)
    res = dft.label(frames, st, workers=2, log=lambda m: None)
    assert [r.energy for r in res] == pytest.approx([np.sum(f.positions ** 2) * 0.5 for f in frames], rel=1e-12)
    np.testing.assert_allclose(res[1].forces, -2 * frames[1].positions)
    np.testing.assert_allclose(res[1].virial(frames[1].volume), -0.01 * np.eye(3) * 125.0)
    assert n_calls(fake_gpaw) == 3
    again = dft.label(frames + [frame(0.4)], st, workers=2, log=lambda m: None)
    assert n_calls(fake_gpaw) == 4, "cached frames were computed again"
    assert [r.energy for r in again[:3]] == [r.energy for r in res]


def test_settings_are_part_of_the_key(fake_gpaw):
    f = frame(0.1)
    a = dft.label([f], dft.DftSettings(ecut=500), log=lambda m: None)[0]
    b = dft.label([f], dft.DftSettings(ecut=700), log=lambda m: None)[0]
    assert b.energy == pytest.approx(a.energy * 700 / 500)
    assert n_calls(fake_gpaw) == 2
    assert dft.frame_key(f, dft.DftSettings(kpts=(2, 2, 2))) != dft.frame_key(f, dft.DftSettings())
    moved = frame(0.1 + 1e-5)
    assert dft.frame_key(moved, dft.DftSettings()) != dft.frame_key(f, dft.DftSettings())


def test_a_failing_frame_does_not_stop_the_batch(fake_gpaw):
    logs = []
    res = dft.label([frame(0.1), frame(-0.1), frame(0.3)], dft.DftSettings(), workers=1, log=logs.append)
    assert res[0] is not None and res[2] is not None
    assert res[1] is None
    assert any("failed" in m and "SCF did not converge" in m for m in logs)
    cache = dft.cache_root() / "dft"
    assert sorted(p.suffix for p in cache.iterdir()) == [".npz", ".npz", ".txt", ".txt"], \
        "a failed frame left a partial result or a job folder behind"
    # the failed frame is tried again on the next call, the finished ones are not
    dft.label([frame(0.1), frame(-0.1), frame(0.3)], dft.DftSettings(), workers=1, log=lambda m: None)
    assert n_calls(fake_gpaw) == 4


def test_missing_gpaw_is_a_clear_error(fake_gpaw, monkeypatch):
    monkeypatch.setattr(dft, "GPAW_PYTHON", "/nonexistent/python3")
    with pytest.raises(RuntimeError, match="setup.sh --dft"):
        dft.label([frame(0.1)], dft.DftSettings(), log=lambda m: None)


def test_worker_settings_as_gpaw_reads_them():
    assert "kpts" not in dft.DftSettings().as_worker()  # Gamma point
    assert dft.DftSettings(kpts=(2, 2, 2)).as_worker()["kpts"] == {"size": [2, 2, 2], "gamma": True}
    assert json.loads(json.dumps(dft.DftSettings().as_worker()))["ecut"] == 500.0
