import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lammps_run import HYBRID_MODEL, LMP, PLUGIN, TEST_MODEL  # noqa: E402


def pytest_sessionstart(session):
    missing = [str(p) for p in (LMP, PLUGIN, TEST_MODEL) if not p.exists()]
    if missing:
        raise pytest.UsageError(f"missing {missing}: run scripts/setup.sh first (README)")


@pytest.fixture(scope="session")
def compressed_model(tmp_path_factory):
    """The test model compressed by DeePMD-kit ('dp --pt compress', default table settings)."""
    import subprocess

    d = tmp_path_factory.mktemp("compressed")
    subprocess.run(["dp", "--pt", "compress", "-i", str(TEST_MODEL), "-o", str(d / "compressed.pth")],
                   cwd=d, check=True, capture_output=True, timeout=900)
    return d / "compressed.pth"


@pytest.fixture(scope="session")
def compressed_hybrid_model(tmp_path_factory):
    """The hybrid test model compressed by DeePMD-kit: both descriptors tabulated (~20 s)."""
    import subprocess

    d = tmp_path_factory.mktemp("compressed_hybrid")
    subprocess.run(["dp", "--pt", "compress", "-i", str(HYBRID_MODEL), "-o", str(d / "compressed_hybrid.pth")],
                   cwd=d, check=True, capture_output=True, timeout=900)
    return d / "compressed_hybrid.pth"
