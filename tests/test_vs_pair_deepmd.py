"""llzo_dp against DeePMD-kit's own `pair_style deepmd` running the same model in the
same LAMMPS: a 20-step NVE run, thermo pe and pressure within 1e-8 relative, and
per-atom forces from a dump. Both run in the reference LAMMPS (update2), the build
DeePMD-kit 3.2.0's prebuilt plugin needs (see scripts/env.sh)."""

import numpy as np
import pytest

from llzo_dp_tools.lammps import perturbed, read_dump, tllzo, write_data
from checkout import HYBRID_MODEL, ROOT, TEST_MODEL, lammps

MODELS = ROOT / "tests" / "data" / "test_model"

NVE = """
units metal
atom_style atomic
{grid}
boundary {boundary}
read_data system.data
pair_style {style} {model}
pair_coeff * *{names}
velocity all create 600.0 4928459 mom yes rot no dist gaussian
fix nve all nve
timestep 0.001
dump d all custom 5 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
thermo_style custom step pe ke etotal press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
thermo 1
run 20
"""


def run_pair(tmp_path, style, boundary, names, model=TEST_MODEL, np_ranks=1, grid=None, setup=""):
    script = NVE.format(style=style, model=model, boundary=boundary, names=names,
                        grid=(f"processors {grid}\n" if grid else "") + setup)
    r = lammps(tmp_path / style, script, reference=True, np_ranks=np_ranks)
    assert r.returncode == 0, r.output[-3000:]
    return r, read_dump(tmp_path / style / "dump.txt")


OTHER_MODELS = ("params",)


@pytest.mark.parametrize("case", ["orthogonal", "triclinic", "slab", *OTHER_MODELS])
def test_same_trajectory_as_pair_deepmd(tmp_path, case):
    """The se_e2_a test model on orthogonal, triclinic and slab cells; params: a model with a
    frame and an atomic parameter, given by the same keywords to both styles (every descriptor
    in both precisions: test_acceptance_matrix.py)."""
    model = MODELS / f"test_model_{case}.pth" if case in OTHER_MODELS else TEST_MODEL
    if case == "params":
        model = f"{model} fparam 0.8 aparam 1.2"
    if case == "triclinic" or case in OTHER_MODELS:
        system = perturbed(*tllzo(), seed=11, sigma=0.05, tilt=(0.7, 0.3, -0.5))
    else:
        system = perturbed(*tllzo(), seed=10, sigma=0.05)
    boundary = "p p f" if case == "slab" else "p p p"
    if case == "slab":  # open the cell along z so the slab has two free surfaces
        cell, pos, types = system
        cell = cell.copy()
        pos = pos.copy()
        pos[:, 2] += 5.0
        cell[2, 2] += 10.0
        system = (cell, pos, types)
    write_data(tmp_path / "system.data", *system)
    for sub in ("llzo_dp", "deepmd"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "system.data").write_bytes((tmp_path / "system.data").read_bytes())
    ours, our_dump = run_pair(tmp_path, "llzo_dp", boundary, " Li La Zr O", model)
    ref, ref_dump = run_pair(tmp_path, "deepmd", boundary, " Li La Zr O", model)
    a, b = ours.runs[0], ref.runs[0]
    assert len(a["Step"]) == 21
    worst = {c: (np.abs(a[c] - b[c]).max() / np.abs(b[c]).max()) for c in ("PotEng", "Press")}
    fworst = max(max(np.abs(fa[c] - fb[c]).max() for c in ("fx", "fy", "fz")) for fa, fb in zip(our_dump, ref_dump))
    print(f"\n{case} vs pair_style deepmd over 20 steps: rel. pe {worst['PotEng']:.1e}, "
          f"rel. press {worst['Press']:.1e}, max |dF| {fworst:.1e} eV/Å")
    for col in ("PotEng", "Press", "Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz", "TotEng"):
        scale = np.abs(b[col]).max()
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=1e-8 * scale, err_msg=col)
    for fa, fb in zip(our_dump, ref_dump):
        assert fa["step"] == fb["step"]
        diff = max(np.abs(fa[c] - fb[c]).max() for c in ("fx", "fy", "fz"))
        assert diff < 1e-8, (fa["step"], diff)


# (model, ranks, processor grid): 1 1 4 cuts the 13 Å cell into slabs thinner than the 6 Å
# cutoff, so ghosts reach over several ranks and features travel in several hops.
RANKS = [("dpa2", 2, "2 1 1"), ("dpa2", 4, "1 1 4"), ("dpa3", 2, "1 2 1"), ("dpa3", 4, "2 2 1"),
         ("dpa2_float32", 4, "2 2 1"), ("dpa3_float32", 4, "1 1 4"), ("se_e2_a", 4, "2 2 1"),
         ("se_e2_r", 4, "1 1 4"), ("hybrid", 2, "2 1 1"), ("dpa1_compressible", 4, "2 2 1"),
         ("se_atten_v2", 4, "1 1 4")]


@pytest.mark.parametrize("case,np_ranks,grid", RANKS, ids=[f"{m}-np{n}-{g.replace(' ', 'x')}" for m, n, g in RANKS])
def test_same_trajectory_as_pair_deepmd_on_several_ranks(tmp_path, case, np_ranks, grid):
    """Each descriptor on 2 and 4 MPI ranks against pair_style deepmd on the same processor
    grid, triclinic cell, 20-step NVE (`same_nve_as_pair_deepmd`). DPA-2 and DPA-3 exchange their
    features between layers through deepmd::border_op and LAMMPS's ghost communication (they
    stopped with "belongs to another rank")."""
    model = {"se_e2_a": TEST_MODEL, "hybrid": HYBRID_MODEL}.get(case, MODELS / f"test_model_{case}.pth")
    same_nve_as_pair_deepmd(tmp_path, model, "float32" in case, np_ranks, grid, tilt=(0.7, 0.3, -0.5))


def same_nve_as_pair_deepmd(tmp_path, model, float32, np_ranks=1, grid=None, tilt=(0.0, 0.0, 0.0), label=None):
    """A 20-step NVE of t-LLZO in both pair styles on the same processor grid: energies and the
    stress tensor within 1e-8 (float64) or 1e-6 (float32) of their largest value, per-atom forces
    within that fraction of the largest force.

    Where a model's own numbers are not that stable, within twice DeePMD-kit's own spread:
    pair_style deepmd on one rank with another neighbour list (`neighbor 1.0 bin`: the same
    physics summed in another order; float32, sums over ranks, se_atten's attention); for a
    float32 model on the native evaluator, pair_style deepmd's distance from the float64
    evaluation of the same weights (`precision float64`: its own float32 rounding); and for any
    float32 model, how far DeepPot's forces on the first frame move when every atom moves by a
    lattice vector (float32 rounding has outliers that one other run may not show). Returns the
    largest force difference (eV/Å)."""
    system = perturbed(*tllzo(), seed=12, sigma=0.05, tilt=tilt)
    write_data(tmp_path / "system.data", *system)
    for sub in ("llzo_dp", "deepmd", "spread/deepmd", "f64/llzo_dp"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "system.data").write_bytes((tmp_path / "system.data").read_bytes())
    ours = run_pair(tmp_path, "llzo_dp", "p p p", " Li La Zr O", model, np_ranks, grid)
    ref = run_pair(tmp_path, "deepmd", "p p p", " Li La Zr O", model, np_ranks, grid)
    assert len(ours[0].runs[0]["Step"]) == 21
    rtol = 1e-6 if float32 else 1e-8
    diff, scale = nve_differences(ours, ref)
    print(f"\n{label or model.stem} on {np_ranks} rank(s) ({grid or 'serial'}) vs pair_style deepmd: rel. pe "
          f"{diff['PotEng'] / scale['PotEng']:.1e}, max |dF| {diff['F']:.1e} eV/Å")
    if all(diff[k] < rtol * scale[k] for k in diff):
        return diff["F"]
    native = "| native evaluator for" in ours[0].output
    spread, _ = nve_differences(run_pair(tmp_path / "spread", "deepmd", "p p p", " Li La Zr O", model,
                                         setup="neighbor 1.0 bin"), ref)
    if float32 and native:
        f64, _ = nve_differences(run_pair(tmp_path / "f64", "llzo_dp", "p p p", " Li La Zr O",
                                          f"{model} precision float64"), ref)
        spread = {k: max(spread[k], f64[k]) for k in spread}
    if float32:
        spread["F"] = max(spread["F"], deeppot_translation_spread(model, *system))
    print(f"DeePMD-kit's own spread: rel. pe {spread['PotEng'] / scale['PotEng']:.1e}, "
          f"max |dF| {spread['F']:.1e} eV/Å")
    for k in diff:
        assert diff[k] < max(rtol * scale[k], 2 * spread[k]), (k, diff[k], spread[k], scale[k])
    return diff["F"]


def deeppot_translation_spread(model, cell, pos, types):
    """Largest change of DeepPot's forces (eV/Å) when every atom moves by the first lattice vector."""
    from deepmd.infer import DeepPot

    dp = DeepPot(str(model))
    forces = [dp.eval(x.reshape(1, -1), cell.reshape(1, 9), (np.asarray(types) - 1).tolist())[1]
              for x in (pos, pos + cell[0])]
    return np.abs(forces[0] - forces[1]).max()


def nve_differences(a, b):
    """Largest difference of each thermo column and of the per-atom forces between two runs, and
    the scale each is judged against (the stress tensor's components share one)."""
    (ra, da), (rb, db) = a, b
    ta, tb = ra.runs[0], rb.runs[0]
    pscale = max(np.abs(tb[c]).max() for c in ("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz"))
    diff, scale = {}, {}
    for col in ("PotEng", "TotEng", "Press", "Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz"):
        diff[col] = np.abs(ta[col] - tb[col]).max()
        scale[col] = np.abs(tb[col]).max() if col.endswith("Eng") else pscale
    diff["F"] = max(max(np.abs(fa[c] - fb[c]).max() for c in ("fx", "fy", "fz")) for fa, fb in zip(da, db))
    scale["F"] = max(max(np.abs(f[c]).max() for c in ("fx", "fy", "fz")) for f in db)
    return diff, scale


TIES = """
units metal
atom_style atomic
boundary p p p
read_data system.data
pair_style {style}
pair_coeff * * Li La Zr O
dump d all custom 1 dump.txt id fx fy fz
dump_modify d format float %.17g sort id
run 0
"""


@pytest.mark.parametrize("model", [TEST_MODEL, HYBRID_MODEL, "compressed"], ids=["se_e2_a", "hybrid", "compressed"])
def test_neighbours_beyond_sel_chosen_as_pair_deepmd_chooses(tmp_path, model, request):
    """A perfect t-LLZO cell compressed by 15 %: 168 atoms have more neighbours of a type
    within 6 Å than sel, at many exactly equal distances. Which of the tied ones the model
    keeps is the graph's (unstable) sort of LAMMPS's own rows; forces equal pair_style
    deepmd's on both evaluators (they differed by up to 0.03 eV/Å when the filtered rows
    were sorted with a stable sort). compressed: the se_e2_a test model compressed; its full
    type blocks end in real neighbours at equal distances, which the table kernel must not
    take for padding (they were 0.027 eV/Å off)."""
    if model == "compressed":
        model = request.getfixturevalue("compressed_model")
    system = perturbed(*tllzo(), seed=1, sigma=0.0, strain=-0.15)
    forces = {}
    for name, style in [("deepmd", f"deepmd {model}"), ("native", f"llzo_dp {model} backend native"),
                        ("torch", f"llzo_dp {model} backend torch")]:
        (tmp_path / name).mkdir()
        write_data(tmp_path / name / "system.data", *system)
        r = lammps(tmp_path / name, TIES.format(style=style), reference=True)
        assert r.returncode == 0, r.output[-3000:]
        if name != "deepmd":
            assert "more neighbours of one type within the cutoff than the model's sel" in r.output
        f = read_dump(tmp_path / name / "dump.txt")[0]
        forces[name] = np.stack([f["fx"], f["fy"], f["fz"]], axis=1)
    diffs = {name: np.abs(forces[name] - forces["deepmd"]).max() for name in ("native", "torch")}
    print(f"\n{model.stem}: max |dF| against pair_style deepmd " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    assert max(diffs.values()) < 1e-10, diffs
