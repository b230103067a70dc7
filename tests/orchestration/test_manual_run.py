"""A run that lasts until the user stops it: `wotemu run` deploys and returns, `wotemu status` shows
it running, `wotemu stop` ends it and the report is built (the original's deploy → stop → report).

One deploy serves every assertion.
"""

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_command

TOPOLOGY = Path(__file__).parent / "manual.yml"
RUN_ON_S = 8  # time the run is left running before the stop: records accumulate meanwhile


def _wotemu(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def manual_run(tmp_path_factory):
    require_command("docker", "ansible-playbook")
    results = tmp_path_factory.mktemp("results")
    extra = ["-e", f"experiment_results_dir={results}"]
    began = time.time()
    deployed = _wotemu("run", str(TOPOLOGY), *extra)
    deployed_s = time.time() - began
    try:
        status = _wotemu("status", str(TOPOLOGY), timeout=60)
        time.sleep(RUN_ON_S)
        later = _wotemu("status", str(TOPOLOGY), timeout=60)
        before_stop = time.time()
    finally:  # the stop is also the cleanup: the stack must not outlive the test
        stopped = _wotemu("stop", str(TOPOLOGY), *extra)
    after_stop = time.time()
    gone = _wotemu("status", str(TOPOLOGY), timeout=60)
    # Kept for a human: how long `wotemu run --manual` and `wotemu stop` took on this machine.
    figures = {"run_returned_after_s": deployed_s, "stop_took_s": after_stop - before_stop}
    (ROOT / "tests" / "artifacts").mkdir(exist_ok=True)
    (ROOT / "tests" / "artifacts" / "manual-run.json").write_text(json.dumps(figures))
    return {
        "deployed": deployed,
        "status": status,
        "later": later,
        "stopped": stopped,
        "gone": gone,
        "before_stop": before_stop,
        "after_stop": after_stop,
        "results": results,
    }


def test_run_deploys_and_returns_without_stopping(manual_run):
    deployed = manual_run["deployed"]
    assert deployed.returncode == 0, deployed.stderr[-5000:]
    assert "lasts until stopped" in deployed.stderr
    assert "Report:" not in deployed.stdout  # stop and report were skipped in that run


def test_status_shows_the_running_run(manual_run):
    for status in (manual_run["status"], manual_run["later"]):
        assert status.returncode == 0, status.stderr
        assert "running until stopped (manual)" in status.stdout
        assert "gateways shaping: 1" in status.stdout
        assert "node tasks ready so far: 2" in status.stdout
    records = [
        int(s.stdout.split("records so far: ")[1].split()[0])
        for s in (manual_run["status"], manual_run["later"])
    ]
    assert records[1] > records[0] > 0  # the run goes on between the two looks


def test_stop_reports_a_run_that_ended_when_the_stop_began(manual_run):
    stopped = manual_run["stopped"]
    assert stopped.returncode == 0, stopped.stderr[-5000:]
    report = Path(stopped.stdout.split("Report: ")[1].strip())
    assert report.is_file()
    info = json.loads((report.parent / "run.json").read_text())
    assert info["topology"]["experiment"]["duration"] == "manual"
    started = datetime.fromisoformat(info["started_at"]).timestamp()
    ended = datetime.fromisoformat(info["ended_at"]).timestamp()
    assert manual_run["before_stop"] <= ended <= manual_run["after_stop"]
    assert ended - started >= RUN_ON_S
    assert ended <= datetime.fromisoformat(info["stopped_at"]).timestamp()


def test_nothing_is_left_running(manual_run):
    gone = manual_run["gone"]
    assert gone.returncode == 1
    assert "no run of stack wtest-manual is deployed" in gone.stderr
