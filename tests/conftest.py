import pytest

from llzo_dp_tools.lammps import LMP
from checkout import HYBRID_MODEL, PLUGIN, TEST_MODEL


def pytest_sessionstart(session):
    missing = [str(p) for p in (LMP, PLUGIN, TEST_MODEL) if not p.exists()]
    if missing:
        raise pytest.UsageError(f"missing {missing}: run scripts/setup.sh first (README)")


def compress(model, workdir):
    """`dp --pt compress` with DeePMD-kit's default table settings; returns the new file."""
    import subprocess

    out = workdir / f"compressed_{model.stem}.pth"
    subprocess.run(["dp", "--pt", "compress", "-i", str(model), "-o", str(out)],
                   cwd=workdir, check=True, capture_output=True, timeout=900)
    return out


@pytest.fixture(scope="session")
def compressed_model(tmp_path_factory):
    """The test model compressed by DeePMD-kit."""
    return compress(TEST_MODEL, tmp_path_factory.mktemp("compressed"))


@pytest.fixture(scope="session")
def compressed_hybrid_model(tmp_path_factory):
    """The hybrid test model compressed by DeePMD-kit: both descriptors tabulated (~20 s)."""
    return compress(HYBRID_MODEL, tmp_path_factory.mktemp("compressed_hybrid"))
