import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lammps_run import LMP, PLUGIN, TEST_MODEL  # noqa: E402


def pytest_sessionstart(session):
    missing = [str(p) for p in (LMP, PLUGIN, TEST_MODEL) if not p.exists()]
    if missing:
        raise pytest.UsageError(f"missing {missing}: run scripts/setup.sh first (README)")
