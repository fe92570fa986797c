"""The configuration filter of active learning: frames from a run the model has lost (a swollen
cell, atoms on top of each other) are not labelled, whichever criterion chose them."""
import numpy as np

from llzo_dp_tools import frame_filter as F
from llzo_dp_tools import structures as L

LIMITS = F.FrameLimits(max_volume_change=0.20, min_distance=1.2)


def _start():
    s = L.tetragonal_llzo("exp")
    return s, s.volume / len(s)


def test_the_crystal_and_its_primitive_cell_pass():
    s, v0 = _start()
    assert F.rejection(s, v0, LIMITS) is None
    p = L.primitive_tllzo("exp")  # triclinic: distances through the minimum image
    assert not p.is_orthogonal()
    assert F.rejection(p, v0, LIMITS) is None
    assert 1.8 < L.shortest_distance(s, 3.0) < 2.0  # Li-O, the shortest bond of t-LLZO


def test_a_swollen_or_squeezed_cell_is_rejected():
    s, v0 = _start()
    for scale, expected in ((1.25, "volume +25%"), (0.78, "volume -22%"), (1.15, None)):
        f = scale ** (1 / 3)
        swollen = L.Structure(s.cell * f, s.positions * f, s.symbols)
        why = F.rejection(swollen, v0, LIMITS)
        assert (why is None) if expected is None else why.startswith(expected), (scale, why)


def test_two_atoms_too_close_are_rejected_across_the_boundary():
    s, v0 = _start()
    pos = s.positions.copy()
    # atom 1 placed 1.0 Å from atom 0 through the periodic boundary along x
    pos[1] = pos[0] + np.array([s.cell[0, 0] - 1.0, 0.0, 0.0])
    bad = L.Structure(s.cell, pos, s.symbols)
    assert abs(L.shortest_distance(bad, 3.0) - 1.0) < 1e-9
    assert "1.00 Å apart" in F.rejection(bad, v0, LIMITS)


def test_kept_counts_the_rejected_per_condition():
    s, v0 = _start()
    big = L.Structure(s.cell * 1.2, s.positions * 1.2, s.symbols)
    frames = {"hot:10": big, "hot:20": s, "cold:10": s, "hot:30": big}
    passed, rejected = F.kept(frames, {"hot": v0, "cold": v0}, LIMITS)
    assert passed == ["hot:20", "cold:10"] and rejected == {"hot": 2}
