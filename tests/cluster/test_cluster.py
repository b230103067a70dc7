"""A real three-node swarm on this machine (inventory/cluster.yml), driven by the same playbooks.

The nodes are Docker engines in containers (playbooks/cluster.yml): one large manager, two small
workers. One cluster serves the whole module, in order: a placement no node satisfies, a full run
with the services spread by label, a run that loses a worker, and last the teardown, which must
leave this machine's own Docker state as it was. The node image (wtc-node:bookworm) is kept on
purpose between runs: bootstrapping it costs a minute.
"""

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from tests.conftest import ROOT, refused_deploy, require_command, run_playbook
from tests.examples.checks import (
    assert_consumers_succeed,
    assert_health_table_agrees,
    assert_nothing_recorded_after_the_end,
    assert_only_the_error_app_crashes,
)

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(1200)]

INVENTORY = "inventory/cluster.yml"
MANAGER, SMALL = "wtc-manager", ("wtc-small-1", "wtc-small-2")
TOPOLOGY = ROOT / "topologies" / "cluster.yml"
STACK = "cluster"
KEPT_IMAGES = {"wtc-node:bookworm"}
FOREIGN = "not-this-machine"
FETCH_TASK = "Runtime image | Fetch the wheels of another architecture"


def _host_state(client: docker.DockerClient) -> dict[str, list[str]]:
    """What this machine's engine holds, by name (the kept node image aside)."""
    return {
        "containers": sorted(c.name for c in client.containers.list(all=True)),
        "networks": sorted(n.name for n in client.networks.list()),
        "volumes": sorted(v.name for v in client.volumes.list()),
        "images": sorted(
            tag for image in client.images.list() for tag in image.tags if tag not in KEPT_IMAGES
        ),
    }


def _records(bundle: Path, kind: str) -> list[dict]:
    with gzip.open(bundle / f"{kind}.jsonl.gz", "rt") as lines:
        return [json.loads(line) for line in lines]


def _tasks(bundle: Path) -> list[dict]:
    return json.loads((bundle / "tasks.json").read_text())


def _inner_docker(client: docker.DockerClient, *args: str) -> str:
    """The docker CLI inside the manager node, against the cluster's swarm."""
    code, output = client.containers.get(MANAGER).exec_run(["docker", *args])
    assert code == 0, output.decode()
    return output.decode()


def _wotemu_run(results: Path, log: Path) -> subprocess.Popen:
    """`wotemu run` of the cluster topology, shortened, as the user starts it (see docs/cluster.md)."""
    with log.open("w") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wotemu_runtime",
                "run",
                str(TOPOLOGY),
                "-i",
                INVENTORY,
                "-e",
                "experiment_duration=30",
                "-e",
                f"experiment_results_dir={results}",
                # The path of a builder whose architecture the control machine does not share (a
                # Raspberry Pi's): its wheelhouse is published wheels fetched for it, nothing built.
                "-e",
                f"runtime_image_controller_arch={FOREIGN}",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _finish(process: subprocess.Popen, log: Path, results: Path) -> tuple[Path, str]:
    process.wait(timeout=1100)
    output = log.read_text()
    assert process.returncode == 0, output[-6000:]
    (bundle,) = (results / STACK).iterdir()
    return bundle, output


@pytest.fixture(scope="module")
def cluster():
    """Three node containers, created once; removed at the end even when a test failed."""
    require_command("docker", "ansible-playbook", "debootstrap")
    client = docker.from_env()
    before = _host_state(client)
    try:
        run_playbook("playbooks/cluster.yml", "-i", INVENTORY)
        yield {"client": client, "before": before}
    finally:
        run_playbook("playbooks/cluster-teardown.yml", "-i", INVENTORY)


@pytest.fixture(scope="module")
def provisioned(cluster):
    run_playbook("playbooks/provision.yml", "-i", INVENTORY)
    return cluster


@pytest.fixture(scope="module")
def finished_run(provisioned, tmp_path_factory):
    """The whole experiment (provision, image on every node, run, stop, fetch, report): timed."""
    results = tmp_path_factory.mktemp("results")
    log = results / "wotemu-run.log"
    started = time.monotonic()
    bundle, output = _finish(_wotemu_run(results, log), log, results)
    print(f"three-node end-to-end run: {time.monotonic() - started:.0f} s wall")
    return {
        "bundle": bundle,
        "output": output,
        "nodes": {t["task"]: t["node"] for t in _tasks(bundle)},
        "results": results,
    }


@pytest.fixture(scope="module")
def run_losing_a_worker(finished_run, tmp_path_factory):
    """A second run; once its run phase has begun, one small worker's container is killed."""
    results = tmp_path_factory.mktemp("results-lost")
    log = results / "wotemu-run.log"
    client = docker.from_env()
    process = _wotemu_run(results, log)
    deadline = time.monotonic() + 900
    while "s left" not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-6000:]
        time.sleep(1)
    lost = SMALL[1]
    lost_at = time.time()
    client.containers.get(lost).kill()
    bundle, output = _finish(process, log, results)
    return {"bundle": bundle, "output": output, "lost": lost, "lost_at": lost_at}


def test_unsatisfiable_placement_fails_before_the_run(provisioned, tmp_path):
    bad = ROOT / "tests" / "cluster" / "unplaceable.yml"
    output = refused_deploy(bad, tmp_path, "-i", INVENTORY)
    message = next(line for line in output.splitlines() if "nodes[1].placement" in line)
    assert (
        "nodes[1].placement: node 'reader' needs node.labels.cpu_class == gpu, which no host satisfies; "
        "the hosts' labels are: "
    ) in message
    assert "wtc-manager: arch=x86_64, cpu_class=large, cpus=2, mem_mb=2048" in message
    for small in SMALL:
        assert f"{small}: arch=x86_64, cpu_class=small, cpus=1, mem_mb=1024" in message
    assert "nothing was deployed" in output
    assert _inner_docker(provisioned["client"], "service", "ls", "-q") == ""


def test_the_image_was_built_as_for_a_foreign_builder(finished_run):
    """Every node ran the image made the way a Raspberry Pi's is: every package of the lock (the
    image's part of it) fetched as a published wheel, by the task that names any missing."""
    events = [json.loads(f.read_text()) for f in finished_run["results"].rglob("job_events/*.json")]
    fetched = [
        e["event_data"]
        for e in events
        if e["event"] == "runner_on_ok" and e["event_data"]["task"] == FETCH_TASK
    ]
    assert [data["host"] for data in fetched] == [MANAGER], fetched
    packages = {line.split("==")[0].lower() for line in fetched[0]["res"]["fetched"]}
    assert {"cryptography", "pyroute2", "wotpy", "redis", "tornado"} <= packages, packages
    assert len(packages) > 40


def test_tasks_run_where_the_labels_say(finished_run):
    nodes_of = {}
    for task in _tasks(finished_run["bundle"]):
        nodes_of.setdefault(task["service"], set()).add(task["node"])
    assert nodes_of["server"] == {MANAGER}
    assert nodes_of["reader"] == set(SMALL)  # Swarm spreads the two replicas over both small nodes
    assert nodes_of["redis"] == {MANAGER}  # the playbooks poll the store on the manager


def test_interactions_between_replicas_on_different_nodes(finished_run):
    nodes = finished_run["nodes"]
    calls = [
        r for r in _records(finished_run["bundle"], "interactions") if r["side"] == "consumer" and r["ok"]
    ]
    assert {nodes[r["task"]] for r in calls if r["service"] == "reader"} == set(SMALL)
    served = [r for r in _records(finished_run["bundle"], "interactions") if r["side"] == "producer"]
    assert {nodes[r["task"]] for r in served if r["service"] == "server"} == {MANAGER}


def test_traffic_between_nodes_crossed_the_gateway(finished_run):
    traffic = _records(finished_run["bundle"], "traffic")
    crossed = {
        (r["protocol"], r["direction"]) for r in traffic if r["network"] == "cell" and r["packets"] > 0
    }
    assert ("http", "request") in crossed and ("http", "response") in crossed


def test_system_metrics_from_every_node(finished_run):
    nodes = finished_run["nodes"]
    sampled = {nodes[r["task"]] for r in _records(finished_run["bundle"], "system") if r["task"] in nodes}
    assert sampled == {MANAGER, *SMALL}


def test_report_built(finished_run):
    bundle = finished_run["bundle"]
    assert f"Report: {bundle}/report.html" in finished_run["output"]
    assert (bundle / "report.html").stat().st_size > 100_000
    run = json.loads((bundle / "run.json").read_text())
    assert {host["name"] for host in run["hosts"]} == {MANAGER, *SMALL}


def test_the_example_runs_clean_as_every_example_must(finished_run):
    """What tests/examples asserts of the other topologies, for this one on its three nodes."""
    bundle = finished_run["bundle"]
    assert_consumers_succeed(bundle)
    assert_nothing_recorded_after_the_end(bundle)
    assert_health_table_agrees(bundle)
    assert_only_the_error_app_crashes(bundle)


def test_lost_worker_tasks_are_rescheduled_and_reported(run_losing_a_worker):
    bundle, lost = run_losing_a_worker["bundle"], run_losing_a_worker["lost"]
    tasks = _tasks(bundle)
    lost_tasks = [t for t in tasks if t["node"] == lost]
    assert [t for t in lost_tasks if t["service"] == "reader"], tasks
    # Readers may only run on small nodes: the lost one's slot is taken up again on the other.
    lost_slots = {t["slot"] for t in lost_tasks if t["service"] == "reader"}
    survivors = [
        t for t in tasks if t["service"] == "reader" and t["slot"] in lost_slots and t["node"] == SMALL[0]
    ]
    assert survivors, tasks
    hosts = json.loads((bundle / "run.json").read_text())["hosts"]
    assert {h["name"]: h["state"] for h in hosts}[lost] == "down"
    # Its engine is gone with it: the stop still ends with a bundle, and says what that cost.
    not_collected = json.loads((bundle / "run.json").read_text())["not_collected"]
    assert [n for n in not_collected if lost in n["what"]], not_collected
    assert all(t["logs_error"] and lost in t["logs_error"] for t in lost_tasks), lost_tasks
    report = (bundle / "report.html").read_text()
    assert all(t["task"] in report for t in lost_tasks)


def test_teardown_leaves_this_machine_as_it_was(cluster):
    run_playbook("playbooks/cluster-teardown.yml", "-i", INVENTORY)
    assert _host_state(cluster["client"]) == cluster["before"]
