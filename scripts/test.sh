#!/usr/bin/env bash
# The whole test suite: sets up (idempotent, fast when done before), then the Rust unit
# tests and the LAMMPS/DeePMD-kit integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
echo "== cargo test"
cargo test --release --quiet
echo "== pytest"
python -m pytest -q -s -p no:cacheprovider -m "not matrix" tests "$@"
