"""Shared test helpers.

A missing prerequisite is a failure with a clear message, never a skip: `make test` and
`.ci/run` install everything the suite needs, so a missing tool means a broken set-up.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def require_command(*names: str) -> None:
    """Fail the test unless every named executable is on PATH."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        pytest.fail(
            f"prerequisite missing: {', '.join(missing)} (run `make setup` or `.ci/run`)", pytrace=False
        )


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail(
            "prerequisite missing: these tests need root (network namespaces, iptables)", pytrace=False
        )


@pytest.fixture
def artifacts_dir() -> Path:
    """A kept directory for files a human may want to look at after the run (screenshots...)."""
    path = ROOT / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def wotemu_run(topology: Path, results: Path) -> list[str]:
    """The command line of `wotemu run TOPOLOGY`, its bundle written under `results`."""
    return [
        sys.executable,
        "-m",
        "wotemu_runtime",
        "run",
        str(topology),
        "-e",
        f"experiment_results_dir={results}",
    ]


RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", re.MULTILINE)


def run_playbook(playbook: str, *args: str, timeout: float = 900) -> dict[str, dict[str, int]]:
    """Run `ansible-playbook` from the repository root; fail with its output unless it succeeds.

    Returns the PLAY RECAP as {host: {"ok": n, "changed": n, "failed": n, ...}}.
    """
    require_command("ansible-playbook")
    proc = subprocess.run(
        ["ansible-playbook", playbook, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{playbook} failed (rc {proc.returncode}):\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
        )
    recap = proc.stdout.rpartition("PLAY RECAP")[2]
    return {
        m[1]: {k: int(v) for k, v in (kv.split("=") for kv in m[2].split())}
        for m in RECAP_LINE.finditer(recap)
    }


def refused_deploy(topology: Path, results: Path, *args: str) -> str:
    """Run the deploy phase on a topology it must refuse; return its output for the message checks."""
    require_command("ansible-playbook")
    proc = subprocess.run(
        [
            "ansible-playbook",
            "playbooks/deploy.yml",
            *args,
            "-e",
            f"topology={topology}",
            "-e",
            f"experiment_results_dir={results}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0, proc.stdout[-4000:]
    return proc.stdout


@pytest.fixture(scope="session")
def runtime_image() -> str:
    """The runtime image, built (or found current) once per session by the real build-image playbook."""
    require_command("docker", "debootstrap")
    run_playbook("playbooks/build-image.yml")
    from wotemu_runtime.contract.versions import image_tag

    return image_tag()


def pytest_assertrepr_compare(op: str, left, right):
    """`"text" in html` on a whole report: say what was missing, not the megabyte it was missing from."""
    if op in ("in", "not in") and isinstance(right, str) and len(right) > 2000:
        found = "found" if op == "not in" else "not found"
        return [f"{left!r} {found} in a text of {len(right):,} characters"]
    return None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """The failed tests' names last, one line each: CI shows the tail of a long, verbose output."""
    yield
    failed = [report.nodeid for key in ("failed", "error") for report in terminalreporter.stats.get(key, [])]
    if failed:
        terminalreporter.write_sep("=", f"{len(failed)} failed or in error")
        for nodeid in failed:
            terminalreporter.write_line(nodeid)
