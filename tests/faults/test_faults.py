"""Faults in the real stack (a one-node swarm, the real playbooks): one run, killed in three ways.

During the run the test kills, by container id, the gateway (application traffic must flow again
through its replacement within 10 s, no node restarted), then the store (every record a writer
numbered is in the bundle or counted as dropped or unstored), then one reader replica (its restart
is in tasks.json and the report; the run completes). Soak: tests/faults/test_soak.py, `make soak`.
"""

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import docker
import pytest

from tests.conftest import ROOT, require_command
from wotemu_runtime.cli import main as wotemu
from wotemu_testbench.accounting import account, read

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

TOPOLOGY = Path(__file__).parent / "faults.yml"
STACK = "wtest-faults"
GATEWAY_GAP_S = 10.0


def container_of(client: docker.DockerClient, service: str):
    (found, *_) = client.containers.list(
        filters={"label": f"com.docker.swarm.service.name={STACK}_{service}"}
    )
    return found


def wait_for(log: Path, text: str, process: subprocess.Popen, within_s: float = 900) -> None:
    deadline = time.monotonic() + within_s
    while text not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{text!r} never showed:\n{log.read_text()[-5000:]}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require_command("docker", "ansible-playbook")
    results = tmp_path_factory.mktemp("results")
    log = results / "wotemu-run.log"
    client = docker.from_env()
    killed = {}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wotemu_runtime", "run", str(TOPOLOGY),
             "-e", f"experiment_results_dir={results}"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for(log, "s left", process)  # the run phase: every node ready
            time.sleep(5)
            # Each pause outlasts what the tests allow the fault (traffic back within 10 s).
            for service, pause_s in (("gw_cell", 12), ("redis", 10), ("reader", 0)):
                victim = container_of(client, service)
                killed[service] = {"at": time.time(), "task": victim.labels["com.docker.swarm.task.name"]}
                victim.kill()
                time.sleep(pause_s)
            process.wait(timeout=900)
        finally:
            if process.poll() is None:
                process.kill()
    output = log.read_text()
    assert process.returncode == 0, output[-5000:]
    (bundle,) = (results / STACK).iterdir()
    return {"bundle": bundle, "killed": killed, "output": output}


def test_application_traffic_flows_again_through_the_new_gateway_within_10_s(run):
    killed_at = run["killed"]["gw_cell"]["at"]
    calls = [
        r for r in read(run["bundle"], "interactions") if r["service"] == "reader" and r["side"] == "consumer"
    ]
    began = sorted(r["t"] - r["latency_s"] for r in calls if r["ok"] and r["t"] - r["latency_s"] > killed_at)
    assert began, "no reader call succeeded after the gateway was killed"
    gap = began[0] - killed_at
    print(f"first successful call began {gap:.1f} s after the gateway was killed")
    assert gap <= GATEWAY_GAP_S
    # Through the replacement: its own counters saw the application's requests.
    replacement = {
        r["task"] for r in read(run["bundle"], "traffic")
        if r["task"] != run["killed"]["gw_cell"]["task"] and r["protocol"] == "http" and r["packets"] > 0
    }  # fmt: skip
    assert replacement


def test_no_node_restarted_but_the_killed_replica(run):
    tasks = json.loads((run["bundle"] / "tasks.json").read_text())
    per_slot = Counter((t["service"], t["slot"]) for t in tasks)
    killed_reader = run["killed"]["reader"]["task"].split(".")[1]
    restarted = {key for key, count in per_slot.items() if count > 1}
    assert restarted == {("gw_cell", 1), ("redis", 1), ("reader", int(killed_reader))}, per_slot


def test_every_numbered_record_is_in_the_bundle_or_counted(run):
    """The store was killed mid-run: Swarm restarted it on its volume (append-only, fsynced)."""
    counts = account(run["bundle"], "counter")
    print(f"numbered records: {counts}")
    assert counts["tasks"] == 1 and counts["produced"] > 1000
    assert (counts["duplicates"], counts["stray"]) == (0, 0)
    assert counts["missing"] == counts["counted"]
    # The stop followed every wave's containers on every node (their counts would be in `unstored`).
    assert json.loads((run["bundle"] / "run.json").read_text())["not_collected"] == []


def test_the_killed_replica_shows_in_tasks_json_and_the_report(run):
    tasks = json.loads((run["bundle"] / "tasks.json").read_text())
    killed = next(t for t in tasks if t["task"] == run["killed"]["reader"]["task"])
    assert killed["exit_code"] not in (0, None) or killed["state"] == "failed", killed
    assert wotemu(["report", str(run["bundle"]), "--json"]) == 0
    report = json.loads((run["bundle"] / "report.json").read_text())
    reader = next(row for row in report["tables"]["health"] if row["service"] == "reader")
    assert reader["restarts"] >= 1, reader
