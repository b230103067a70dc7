"""Shared fixtures: one synthetic bundle and its report, built once per test session, and a copy
of that bundle for a test to change."""

import shutil
from pathlib import Path

import pytest

from wotemu_runtime.cli import main as wotemu
from wotemu_testbench.synthetic import generate


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("bundle"), interactions_n=10_000, tasks_n=40)


@pytest.fixture(scope="session")
def built(bundle_dir) -> tuple[Path, Path]:
    """(report.html, report.json) written by `wotemu report --json`."""
    assert wotemu(["report", str(bundle_dir), "--json"]) == 0
    return bundle_dir / "report.html", bundle_dir / "report.json"


@pytest.fixture
def bundle(bundle_dir, tmp_path) -> Path:
    """A copy of the session's bundle, without its report, for one test to change."""
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir, copy, ignore=shutil.ignore_patterns("report.*"))
    return copy
