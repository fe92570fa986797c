"""Li-sublattice order parameters of LLZO: the quantity that orders at the t -> c transition.

The tetragonal-to-cubic transition of Li7La3Zr2O12 is an order-disorder transition of Li.
In the cubic cell (Ia-3d, same origin and axes as the origin-2 I4_1/acd cell) Li sits on
tetrahedral 24d and octahedral 96h sites. Lowering the symmetry splits 24d into 8a (filled in
t-LLZO) and 16e-type tetrahedra (empty in t-LLZO); the octahedral Li of t-LLZO sits on 16f and
32g. A 24d tetrahedron has its -4 axis along x, y or z (the axis whose fractional coordinate is
an odd multiple of 1/8); the 8a sites of a tetragonal cell with unique axis k are the eight
with their axis along k. So, with each Li assigned to its nearest 24d site within `r_tet`:

    eta_k = occ(24d sites with axis k) - occ(the other sixteen),    eta = max_k eta_k,

eta = 1 for ordered t-LLZO (unique axis k), about 0 for a disordered tetrahedral sublattice.
The octahedral measure is the occupancy of t-LLZO's 16f + 32g positions (unique axis k) within
`r_oct`; Li that is neither tetrahedral nor on those positions sits elsewhere in the octahedral
cages (the 96h positions of c-LLZO) and is counted as `frac_oct_other`.

Frames are in any n1 x n2 x n3 supercell of the conventional cell (orthogonal or slightly
sheared: distances use the frame's own cell).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .structures import CLLZO_LI_24D, CLLZO_LI_96H, TLLZO_SITES, cubic_ops, expand_orbit, tetragonal_ops

CONVENTIONAL_A = 13.0  # A, only to infer supercell multiples from box lengths
R_TET = 1.0   # A: Li within this of a 24d centre is tetrahedral
R_OCT = 0.8   # A: Li within this of a t-LLZO 16f/32g position sits on it
# Cyclic axis permutations mapping the unique axis z onto x, y, z (members of Ia-3d).
_PERMUTE = {0: (2, 0, 1), 1: (1, 2, 0), 2: (0, 1, 2)}


@dataclass
class LiOrder:
    eta: float                 # max over axes of occ(8a) - occ(16e)
    axis: int                  # 0, 1, 2: the unique axis that maximises eta
    eta_per_axis: tuple        # eta_x, eta_y, eta_z
    occ_8a: float              # occupancy of the 8a tetrahedra (unique axis `axis`)
    occ_16e: float             # occupancy of the 16e-type tetrahedra
    occ_oct_ordered: float     # occupancy of t-LLZO's 16f + 32g positions (unique axis `axis`)
    frac_tet: float            # fraction of Li on a tetrahedral site
    frac_oct_other: float      # fraction of Li neither tetrahedral nor on 16f/32g (96h and others)

    def as_dict(self) -> dict:
        return asdict(self)


def tetrahedral_sites() -> tuple[np.ndarray, np.ndarray]:
    """The 24 tetrahedral 24d sites of one conventional cell (fractional) and the axis of each."""
    sites = expand_orbit(CLLZO_LI_24D, cubic_ops())
    eighths = np.rint(sites * 8).astype(int) % 8
    odd = eighths % 2 == 1
    if sites.shape != (24, 3) or not np.all(odd.sum(axis=1) == 1):
        raise RuntimeError("24d orbit: expected 24 sites with one odd-eighth coordinate each")
    return sites, np.argmax(odd, axis=1)


def ordered_octahedral_sites(axis: int) -> np.ndarray:
    """The 48 octahedral Li positions (16f + 32g) of t-LLZO whose unique axis is `axis`."""
    ops = tetragonal_ops()
    z_sites = np.concatenate([expand_orbit(xyz, ops) for el, w, xyz in TLLZO_SITES
                              if el == "Li" and w in ("16f", "32g")])
    if len(z_sites) != 48:
        raise RuntimeError(f"16f + 32g orbits gave {len(z_sites)} sites, expected 48")
    return z_sites[:, list(_PERMUTE[axis])]


def supercell_multiples(cell: np.ndarray, n_li: int) -> tuple[int, int, int]:
    """n1, n2, n3 of a frame built from conventional cells, checked against its Li count."""
    dims = tuple(max(1, int(round(np.linalg.norm(v) / CONVENTIONAL_A))) for v in np.asarray(cell))
    if 56 * int(np.prod(dims)) != n_li:
        raise ValueError(f"box lengths suggest a {dims} supercell (56 Li each) but the frame has "
                         f"{n_li} Li; pass dims= for cells not made of conventional LLZO cells")
    return dims


def _nearest(li_frac: np.ndarray, cell: np.ndarray, dims, base: np.ndarray):
    """Nearest tiled site (index into the tiled list) and its distance, for each Li."""
    dims = np.asarray(dims, float)
    shifts = np.array([(i, j, k) for i in range(int(dims[0])) for j in range(int(dims[1]))
                       for k in range(int(dims[2]))], float)
    tiled = (base[None, :, :] + shifts[:, None, :]).reshape(-1, 3)  # conventional units
    u = li_frac * dims
    best_d = np.full(len(u), np.inf)
    best_i = np.zeros(len(u), int)
    for start in range(0, len(u), 256):  # bounded memory for large cells
        d = u[start:start + 256, None, :] - tiled[None, :, :]
        d -= dims * np.rint(d / dims)
        r = np.linalg.norm((d / dims) @ cell, axis=-1)
        best_i[start:start + 256] = np.argmin(r, axis=1)
        best_d[start:start + 256] = r[np.arange(len(r)), best_i[start:start + 256]]
    return best_i % len(base), best_i, best_d, len(tiled)


def li_order(cell, positions, symbols, dims=None, r_tet: float = R_TET, r_oct: float = R_OCT) -> LiOrder:
    """Order parameters of one frame (cell rows in A, Cartesian positions in A, element names)."""
    cell = np.asarray(cell, float).reshape(3, 3)
    li = np.asarray(positions, float)[np.asarray(symbols) == "Li"]
    if len(li) == 0:
        raise ValueError("the frame has no Li atoms")
    dims = tuple(dims) if dims is not None else supercell_multiples(cell, len(li))
    frac = np.mod(li @ np.linalg.inv(cell), 1.0)
    n_cells = int(np.prod(dims))

    tet, tet_axis = tetrahedral_sites()
    _, tiled_site, dist, n_tet = _nearest(frac, cell, dims, tet)
    on_tet = dist < r_tet
    occupancy = np.bincount(tiled_site[on_tet], minlength=n_tet)
    axis_of_tiled = np.tile(tet_axis, n_cells)
    eta_k = []
    for k in range(3):
        own = axis_of_tiled == k
        eta_k.append(occupancy[own].mean() - occupancy[~own].mean())
    axis = int(np.argmax(eta_k))
    own = axis_of_tiled == axis

    _, oct_site, oct_dist, n_oct = _nearest(frac[~on_tet], cell, dims, ordered_octahedral_sites(axis))
    on_oct = oct_dist < r_oct
    occ_oct = np.bincount(oct_site[on_oct], minlength=n_oct)
    return LiOrder(
        eta=float(eta_k[axis]), axis=axis, eta_per_axis=tuple(float(e) for e in eta_k),
        occ_8a=float(occupancy[own].mean()), occ_16e=float(occupancy[~own].mean()),
        occ_oct_ordered=float(np.minimum(occ_oct, 1).mean()),
        frac_tet=float(on_tet.mean()), frac_oct_other=float((~on_oct).sum() / len(li)))


# --- Li sites and hops ----------------------------------------------------------------------
# A Li hop is an arrival at another site. The sites are the 24 tetrahedra (24d) and the 48
# octahedral cages of each conventional cell (a cage holds a pair of 96h positions 0.67 A apart
# and t-LLZO's 16f/32g Li; its centre is the pair's midpoint). A Li keeps its site until it comes
# within R_SITE of another one, so vibrations across a site boundary are not counted as hops.
R_SITE = 0.9  # A: under half the closest site spacing (2.0 A), so a point is near one site at most


def cage_centres() -> np.ndarray:
    """The 48 octahedral cage centres of one conventional cell (fractional): midpoints of the
    96h pairs."""
    h96 = expand_orbit(CLLZO_LI_96H, cubic_ops())
    d = h96[:, None, :] - h96[None, :, :]
    d -= np.rint(d)
    r = np.linalg.norm(d, axis=-1) + np.eye(len(h96))
    partner = np.argmin(r, axis=1)
    centres = {tuple(np.round((h96[i] + 0.5 * -d[i, partner[i]]) % 1.0, 6)) for i in range(len(h96))}
    if len(h96) != 96 or len(centres) != 48:
        raise RuntimeError(f"96h orbit gave {len(centres)} cages, expected 48")
    return np.array(sorted(centres))


def li_sites() -> np.ndarray:
    """The 72 Li sites of one conventional cell: 24 tetrahedra, then 48 octahedral cages."""
    return np.concatenate([tetrahedral_sites()[0], cage_centres()])


def site_hops(frames, dims, r_site: float = R_SITE) -> tuple[int, np.ndarray]:
    """Hops between consecutive snapshots and the per-Li site of the last one.

    `frames`: (cell, Li positions) pairs in time order, the same Li in the same order. A Li is
    placed on its nearest site when that is within r_site, otherwise it keeps the site it had
    (or is unplaced, -1, until it first reaches one); a hop is a change from one placed site
    to another."""
    base = li_sites()
    site = None
    hops = 0
    for cell, pos in frames:
        cell = np.asarray(cell, float).reshape(3, 3)
        frac = np.mod(np.asarray(pos, float) @ np.linalg.inv(cell), 1.0)
        _, nearest, dist, _ = _nearest(frac, cell, dims, base)
        if site is None:
            site = np.full(len(frac), -1)
        placed = dist < r_site
        moved = placed & (site >= 0) & (nearest != site)
        hops += int(moved.sum())
        site = np.where(placed, nearest, site)
    return hops, site
