"""A run that fails says why and keeps ansible-runner's files (job events, output) where it says."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

INVENTORY = """\
swarm:
  children:
    swarm_managers:
      hosts:
        wtest-no-python:
          ansible_connection: local
          ansible_python_interpreter: /nonexistent/python3  # every module fails: a run that stops at once
    swarm_workers:
      hosts: {}
"""


def test_a_failed_run_prints_why_and_where_its_job_events_are(tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(INVENTORY)
    results = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wotemu_runtime",
            "run",
            str(ROOT / "topologies" / "quickstart.yml"),
            "-i",
            str(inventory),
            "-e",
            f"experiment_results_dir={results}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "The experiment failed" in proc.stderr, proc.stderr
    reason = proc.stderr.partition("The experiment failed")[2].splitlines()[1].strip()
    assert "/nonexistent/python3" in reason, proc.stderr  # never an empty reason
    (where,) = [
        line for line in proc.stderr.splitlines() if line.startswith("The playbook's output and job events: ")
    ]
    kept = Path(where.rpartition(": ")[2])
    assert kept.is_relative_to(results / ".runner") and kept.parent.parent.name.startswith("quickstart-")
    events = [json.loads(path.read_text()) for path in (kept / "job_events").glob("*.json")]
    assert any(e["event"] == "runner_on_failed" for e in events)
    assert "fatal: [wtest-no-python]" in (kept / "stdout").read_text()
