"""Which explored frames are worth labelling at all: DP-GEN2's configuration filters, for every
selection criterion alike.

A model trained on crystals only, driven at 1500-2000 K under a barostat, can lose its run
without an error: the cell keeps swelling (measured: the volume of a 1x1x1 t-LLZO cell grew
2.5-fold in 2 ps at 2000 K, the reference energy of its frames 1.5 eV/atom above the crystal).
Such frames are outside any territory the potential is meant for; labelling them spends the
budget on configurations no production run visits and pulls the fit away from the ones it does.
A frame is rejected when its volume per atom departs from the condition's starting cell by more
than `max_volume_change`, or when two atoms are closer than `min_distance` (Å; the shortest
bond in LLZO, Li-O, is 1.9 Å and stays above 1.4 Å in melts at 2000 K).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import structures as L


@dataclass(frozen=True)
class FrameLimits:
    max_volume_change: float = 0.20   # |V/V0 - 1|, V0 the starting cell's volume per atom
    min_distance: float = 1.2         # Å


def rejection(s: L.Structure, start_volume_per_atom: float, limits: FrameLimits) -> str | None:
    """Why the frame is not worth labelling, or None when it is."""
    change = s.volume / len(s) / start_volume_per_atom - 1.0
    if abs(change) > limits.max_volume_change:
        return f"volume {change:+.0%} from the start (limit ±{limits.max_volume_change:.0%})"
    r = L.shortest_distance(s, limits.min_distance)
    if r < limits.min_distance:
        return f"two atoms {r:.2f} Å apart (limit {limits.min_distance} Å)"
    return None


def kept(frames: dict[str, L.Structure], start_volume: dict[str, float], limits: FrameLimits) -> tuple[list[str], dict[str, int]]:
    """The keys ("condition:step") of the frames that pass, in the given order, and the number
    rejected per condition. `start_volume`: condition -> starting volume per atom."""
    passed, rejected = [], {}
    for key, s in frames.items():
        name = key.rsplit(":", 1)[0]
        if rejection(s, start_volume[name], limits) is None:
            passed.append(key)
        else:
            rejected[name] = rejected.get(name, 0) + 1
    return passed, rejected


def volume_bound(limits: FrameLimits) -> float:
    """The exploration halts its run once the cell is this far out (a margin above the frame
    limit, so that the frames before the halt still span the allowed range)."""
    return 1.5 * limits.max_volume_change
