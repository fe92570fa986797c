# Sourced by the scripts: the project's Python environment, kept outside the repo in a
# cache keyed by the pinned versions so reruns and CI reuse it.
LLZO_DP_PINS="t2.11.0-l2025.7.22.4.0-d3.2.0"
export LLZO_DP_VENV="${LLZO_DP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/llzo_dp/venv-$LLZO_DP_PINS}"
export PATH="$LLZO_DP_VENV/bin:$HOME/.cargo/bin:$PATH"
export PYTHON="$LLZO_DP_VENV/bin/python"
export LIBTORCH_USE_PYTORCH=1
export LIBTORCH_BYPASS_VERSION_CHECK=0
