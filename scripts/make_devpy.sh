#!/usr/bin/env bash
# Make .devpy/site: deepmd-kit 3.2.0's pure-Python parts for a GPU machine that has python3 +
# torch but no deepmd-kit and no network (the device machine). Compiled ops are left out (se_e2_a
# training does not need them), the TF/JAX/Paddle backends too (size: the working tree that
# travels is capped at 64 MiB); mpich loading is made optional and lmdb / mendeleev are stubbed
# (used only by features not used here). Use: `carry: [".devpy"]`, PYTHONPATH=$PWD/.devpy/site.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
SP="$LLZO_DP_VENV/lib/python3.11/site-packages"
grep -qx "/.devpy/" .git/info/exclude || echo "/.devpy/" >> .git/info/exclude
rm -rf .devpy && mkdir -p .devpy/site
for p in deepmd dargs typeguard wcmatch bracex array_api_compat einops deepmd_kit-3.2.0.dist-info; do
  cp -r "$SP/$p" .devpy/site/
done
S=.devpy/site
rm -rf "$S"/deepmd/lib/*.so "$S"/deepmd/tf "$S"/deepmd/jax "$S"/deepmd/pd
find .devpy -name __pycache__ -prune -exec rm -rf {} +
python - "$S" <<'PY'
import sys
from pathlib import Path
s = Path(sys.argv[1])
p = s / "deepmd/pt/cxx_op.py"
t = p.read_text()
old = "):\n    load_mpi_library()\n"
assert old in t, "deepmd/pt/cxx_op.py changed: patch by hand"
p.write_text(t.replace(old, "):\n    try:\n        load_mpi_library()\n    except Exception:  # no mpich on the device machine\n        pass\n"))
(s / "lmdb").mkdir()
(s / "lmdb/__init__.py").write_text('"""Stub (deepmd\'s LMDB data loader is not used)."""\nclass Environment: pass\nclass Transaction: pass\ndef open(*a, **k):\n    raise RuntimeError("lmdb is stubbed here")\n')
(s / "mendeleev").mkdir()
sym = "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La"
(s / "mendeleev/__init__.py").write_text(f'"""Stub (deepmd\'s electronic-configuration embedding is not used)."""\n_S = "{sym}".split()\nclass _E:\n    def __init__(self, x): self.symbol = x; self.atomic_number = _S.index(x) + 1\ndef element(x): return _E(x)\n')
PY
PYTHONPATH="$S" python -c "import deepmd.pt.entrypoints.main, deepmd.pt.train.training" 2>/dev/null
du -sh .devpy
