"""Shared test helpers.

A missing prerequisite is a failure with a clear message, never a skip: `make test` and
`.ci/run` install everything the suite needs, so a missing tool means a broken set-up.
"""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def require_command(*names: str) -> None:
    """Fail the test unless every named executable is on PATH."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        pytest.fail(f"prerequisite missing: {', '.join(missing)} (run `make setup` or `.ci/run`)", pytrace=False)


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("prerequisite missing: these tests need root (network namespaces, iptables)", pytrace=False)


@pytest.fixture
def artifacts_dir() -> Path:
    """A kept directory for files a human may want to look at after the run (screenshots...)."""
    path = ROOT / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
