"""The product as the user runs it: `wotemu run` through the real playbooks on a one-node swarm.

One run serves every assertion (it takes a few minutes): the bundle's contents, a replica and the
store killed mid-run and restarted by Swarm (the progress display must find the new store), the
fidelity probes (the `lan` gateway's shaping is broken mid-run: the probes must call it a miss),
the report, values that compose or Swarm would expand arriving unchanged in an app, and a clean
swarm and manager afterwards.
"""

import gzip
import json
import subprocess
import time
from pathlib import Path

import docker
import pytest
import yaml

from tests.conftest import ROOT, refused_deploy, require_command, wotemu_run

TOPOLOGY = Path(__file__).parent / "e2e.yml"
STACK = "wtest-e2e"
NEVER_STARTED = "0001-01-01T00:00:00Z"  # Docker's start time of a container that never ran


def _records(bundle: Path, kind: str) -> list[dict]:
    with gzip.open(bundle / f"{kind}.jsonl.gz", "rt") as lines:
        return [json.loads(line) for line in lines]


def _kill_one_reader_during_the_run(client: docker.DockerClient, process: subprocess.Popen, log: Path) -> str:
    """Once the run phase has begun (its progress shows the time left), kill one reader's container."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and process.poll() is None:
        if "s left" in log.read_text():
            (victim, *_) = client.containers.list(
                filters={"label": f"com.docker.swarm.service.name={STACK}_reader"}
            )
            victim.kill()
            return victim.labels["com.docker.swarm.task.name"]
        time.sleep(1)
    pytest.fail(f"the run phase never began:\n{log.read_text()[-5000:]}")


def _kill_the_store(client: docker.DockerClient, process: subprocess.Popen, log: Path) -> dict:
    """Kill the store's container; time until the progress display shows the store's counts again."""
    (store,) = client.containers.list(filters={"label": f"com.docker.swarm.service.name={STACK}_redis"})
    offset = len(log.read_text())
    store.kill()
    killed_at = time.monotonic()
    while time.monotonic() - killed_at < 60 and process.poll() is None:
        if "gateways shaping" in log.read_text()[offset:]:
            return {"killed": store.id, "live_after_s": time.monotonic() - killed_at}
        time.sleep(0.2)
    pytest.fail(
        f"the progress display did not come back after the store was killed:\n{log.read_text()[offset:]}"
    )


def _break_the_lan_shaping(client: docker.DockerClient) -> float:
    """Take the shaping off the running `lan` gateway, the way a broken shaper would leave it: its
    NFQUEUE rule (userspace shaper) or its root qdisc (NetEm) is removed, so packets pass undelayed.
    Returns when it happened (Unix seconds)."""
    (gateway,) = client.containers.list(filters={"label": f"com.docker.swarm.service.name={STACK}_gw_lan"})
    rules = gateway.exec_run(["iptables", "-S", "FORWARD"]).output.decode().splitlines()
    queued = [rule for rule in rules if "NFQUEUE" in rule]
    if queued:
        for rule in queued:
            result = gateway.exec_run(["iptables", "-D", *rule.split()[1:]])
            assert result.exit_code == 0, result.output
    else:  # NetEm: the interface holding the lan subnet loses its qdiscs
        links = gateway.exec_run(["ip", "-o", "-4", "addr", "show"]).output.decode().splitlines()
        (interface,) = [line.split()[1] for line in links if " 10.211." in line and "/24" in line][-1:]
        result = gateway.exec_run(["tc", "qdisc", "del", "dev", interface, "root"])
        assert result.exit_code == 0, result.output
    return time.time()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    require_command("docker", "ansible-playbook")
    results = tmp_path_factory.mktemp("results")
    log = results / "wotemu-run.log"
    client = docker.from_env()
    with log.open("w") as out:
        process = subprocess.Popen(
            wotemu_run(TOPOLOGY, results),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        killed = _kill_one_reader_during_the_run(client, process, log)
        store = _kill_the_store(client, process, log)
        broken_at = _break_the_lan_shaping(client)
        store["replacement"] = [
            c.id
            for c in client.containers.list(filters={"label": f"com.docker.swarm.service.name={STACK}_redis"})
        ]
        process.wait(timeout=900)
    output = log.read_text()
    assert process.returncode == 0, output[-5000:]
    (bundle,) = (results / STACK).iterdir()
    return {
        "bundle": bundle,
        "output": output,
        "killed": killed,
        "store": store,
        "client": client,
        "broken_at": broken_at,
    }


def test_run_prints_progress_and_the_report_path(finished_run):
    output = finished_run["output"]
    assert "gateways shaping" in output and "node tasks ready so far" in output and "s left" in output
    assert f"Report: {finished_run['bundle']}/report.html" in output
    assert (finished_run["bundle"] / "report.html").stat().st_size > 100_000


def test_progress_display_is_live_within_10_s_of_the_store_being_killed(finished_run):
    store = finished_run["store"]
    print(f"progress live again {store['live_after_s']:.1f} s after the store was killed")
    assert store["live_after_s"] <= 10, store
    assert (
        store["replacement"] and store["killed"] not in store["replacement"]
    )  # Swarm's new container answered


def test_bundle_holds_interactions_from_every_reader_replica(finished_run):
    interactions = _records(finished_run["bundle"], "interactions")
    readers = {
        r["task"] for r in interactions if r["service"] == "reader" and r["side"] == "consumer" and r["ok"]
    }
    slots = {task.split(".")[1] for task in readers}
    assert slots == {"1", "2"}
    assert {r["protocol"] for r in interactions if r["side"] == "consumer"} <= {"http", "ws", "coap"}


def test_system_metrics_for_every_task(finished_run):
    bundle = finished_run["bundle"]
    tasks = json.loads((bundle / "tasks.json").read_text())
    sampled = {r["task"] for r in _records(bundle, "system")}
    ran = {t["task"] for t in tasks if t["state"] == "running" and t["service"] != "redis"}
    assert {t.split(".")[0].removeprefix(f"{STACK}_") for t in ran} == {
        "server",
        "reader",
        "echo",
        "gw_cell",
        "gw_lan",
    }
    assert ran | {finished_run["killed"]} <= sampled


def test_traffic_crossed_the_gateway(finished_run):
    traffic = _records(finished_run["bundle"], "traffic")
    crossed = {
        (r["protocol"], r["direction"]) for r in traffic if r["network"] == "cell" and r["packets"] > 0
    }
    assert ("http", "request") in crossed and ("http", "response") in crossed


def test_each_gateway_recorded_what_its_shaper_let_out(finished_run):
    run = json.loads((finished_run["bundle"] / "run.json").read_text())
    last = {}  # per network, its gateway tasks' last (cumulative) counts
    for record in _records(finished_run["bundle"], "shaping"):
        last[record["network"], record["task"]] = record
    assert {network for network, _ in last} == {"cell", "lan"}
    for (network, _), record in last.items():
        assert record["backend"] == run["gateways"][network]["backend"], record
        assert record["packets"] > 0 and record["bytes"] >= 28 * record["packets"], record  # IP+UDP or more
    assert "Shaped: out of each gateway, over the run" in (finished_run["bundle"] / "report.html").read_text()


def test_run_json_names_the_shaping_backend(finished_run):
    run = json.loads((finished_run["bundle"] / "run.json").read_text())
    assert run["schema_version"] == 1 and run["stack"] == STACK
    assert run["gateways"]["cell"]["backend"] in ("netem", "userspace")
    assert run["started_at"] and run["stopped_at"] > run["started_at"]
    assert not (finished_run["bundle"] / ".redis-password").exists()  # secrets never land in a bundle


def _probe_rows(bundle: Path) -> list[dict]:
    return json.loads((bundle / "run.json").read_text())["probes"]


def test_every_network_was_probed_before_the_apps_and_passed(finished_run):
    """Round 1 of each network ran before its prober's app started, on a correctly shaped network."""
    rows = _probe_rows(finished_run["bundle"])
    first = {(r["network"], r["parameter"]): r for r in rows if r["round"] == 1}
    assert {key for key in first if key[1] in ("delay_ms", "loss_pct")} == {
        (net, parameter) for net in ("cell", "lan") for parameter in ("delay_ms", "loss_pct")
    }
    assert all(first[net, parameter]["pass"] is True for net, parameter in first if parameter != "rate_bps")
    assert first["cell", "delay_ms"]["target"] >= 40 and first["lan", "delay_ms"]["target"] == 10
    cell = [r for r in rows if r["network"] == "cell" and r["parameter"] in ("delay_ms", "loss_pct")]
    assert all(r["pass"] is True for r in cell), cell  # never broken: every round passes
    lifecycle = _records(finished_run["bundle"], "lifecycle")
    probes = _records(finished_run["bundle"], "probes")
    for record in (r for r in probes if r["round"] == 1):
        ready = min(r["t"] for r in lifecycle if r["task"] == record["task"] and r["event"] == "ready")
        assert record["t"] < ready  # measured before the prober's own app started
        assert record["sent"] <= 50 and record["bytes_sent"] == record["sent"] * record["packet_bytes"]


def test_probe_traffic_crossed_the_gateways_as_its_own_protocol(finished_run):
    traffic = _records(finished_run["bundle"], "traffic")
    probed = {
        (r["network"], r["direction"]) for r in traffic if r["protocol"] == "probe" and r["packets"] > 0
    }
    assert probed == {(net, direction) for net in ("cell", "lan") for direction in ("request", "response")}


def test_the_broken_network_is_a_miss_named_in_the_report(finished_run):
    rows = _probe_rows(finished_run["bundle"])
    later = [r for r in rows if r["network"] == "lan" and r["parameter"] == "delay_ms"]
    after = [r for r in later if r["t"] > finished_run["broken_at"]]
    assert after and all(r["pass"] is False and r["measured"] < 5 for r in after), later
    html = (finished_run["bundle"] / "report.html").read_text()
    assert "Network lan: delay_ms NOT as configured" in html
    assert "Network cell: delay_ms NOT" not in html
    assert "expected ms (configured)" in html


def test_killed_replica_was_restarted_and_shows_in_tasks_json(finished_run):
    tasks = json.loads((finished_run["bundle"] / "tasks.json").read_text())
    killed_slot = finished_run["killed"].split(".")[1]
    slot_tasks = [t for t in tasks if t["service"] == "reader" and str(t["slot"]) == killed_slot]
    assert len(slot_tasks) >= 2, slot_tasks
    assert any(t["exit_code"] not in (0, None) or t["state"] == "failed" for t in slot_tasks)


def test_every_task_has_its_log_tail_and_container_times(finished_run):
    """Read from each task's own container (the killed one too), never through `docker service logs`.
    A container that never started has no log to read: Swarm's error for its task says why."""
    tasks = json.loads((finished_run["bundle"] / "tasks.json").read_text())
    started = [t for t in tasks if t["container_started_at"] not in (None, NEVER_STARTED)]
    unread = [t for t in started if not t["logs_tail"] or t["logs_error"] is not None]
    assert not unread, json.dumps(unread, indent=1)
    assert all(t["container_started_at"] >= t["created_at"] for t in started), json.dumps(tasks, indent=1)
    unexplained = [t for t in tasks if t not in started and not t["error"]]
    assert not unexplained, json.dumps(unexplained, indent=1)
    killed = next(t for t in tasks if t["task"] == finished_run["killed"])
    assert killed["container_finished_at"] > killed["container_started_at"]
    assert json.loads((finished_run["bundle"] / "run.json").read_text())["not_collected"] == []


def test_values_full_of_dollars_braces_and_quotes_reach_the_app_unchanged(finished_run):
    """`$HOME`, `${PATH}`, `$$`, Go templates, Jinja, quotes, backslashes and newlines, through the
    stack file (compose interpolation), Swarm (Go templates in env values) and the config file."""
    (echo,) = [n for n in yaml.safe_load(TOPOLOGY.read_text())["nodes"] if n["name"] == "echo"]
    (received,) = [r["data"] for r in _records(finished_run["bundle"], "app") if r["metric"] == "received"]
    assert received["env"] == echo["env"]
    assert received["params"] == {k: v for k, v in echo["app"]["params"].items() if k != "env_names"}


def test_the_manager_keeps_no_password_nor_export_copy(finished_run):
    """The run's directory on the manager (this machine) went with the stack: its stack file, configs,
    the store user's password and the exported tables; the control machine's private state too."""
    assert not Path(f"/var/tmp/wotemu/{STACK}").exists()
    assert not list((finished_run["bundle"].parents[1] / ".runs").glob("*"))


def test_nothing_of_the_run_remains_on_the_swarm(finished_run):
    client = finished_run["client"]
    assert not [s.name for s in client.services.list() if s.name.startswith(f"{STACK}_")]
    assert not [n.name for n in client.networks.list() if n.name.startswith(f"{STACK}_")]
    assert not [v.name for v in client.volumes.list() if v.name.startswith(f"{STACK}_")]
    assert not [s.name for s in client.secrets.list() if s.name.startswith(f"{STACK}-")]
    assert not [c.name for c in client.configs.list() if c.name.startswith(f"{STACK}_")]
    assert not [c.name for c in client.containers.list(all=True) if c.name.startswith(STACK)]


def test_malformed_topology_fails_before_any_docker_change(tmp_path):
    require_command("docker", "ansible-playbook")
    client = docker.from_env()
    before = ({s.id for s in client.services.list()}, {s.id for s in client.secrets.list()})
    bad = ROOT / "tests" / "topology" / "bad" / "unknown_network_ref.yml"
    output = refused_deploy(bad, tmp_path)
    assert "nodes[1].networks[0]: unknown network 'cel'; defined: cell, lan" in output
    assert "nothing was deployed" in output
    assert ({s.id for s in client.services.list()}, {s.id for s in client.secrets.list()}) == before


def test_a_run_whose_subnets_are_taken_fails_before_any_docker_change(tmp_path):
    """Two runs on one swarm from the same default pool: the second is refused, not left unscheduled."""
    require_command("docker", "ansible-playbook")
    client = docker.from_env()
    pool = docker.types.IPAMPool(subnet="10.211.0.0/24")
    taken = client.networks.create(
        "wtest-taken", driver="overlay", ipam=docker.types.IPAMConfig(pool_configs=[pool])
    )
    try:
        topology = tmp_path / "second.yml"
        topology.write_text(
            "experiment: {name: wtest-second}\nnetworks: [{name: cell}]\n"
            "nodes: [{name: clock, app: {builtin: clock}, networks: [cell]}]\n"
        )
        before = {s.id for s in client.services.list()}
        output = refused_deploy(topology, tmp_path)
        assert (
            "experiment.subnet_pool: network control would take 10.211.0.0/24, which overlaps the swarm's "
            "network wtest-taken (10.211.0.0/24)"
        ) in output
        assert "nothing was deployed" in output
        assert {s.id for s in client.services.list()} == before
    finally:
        taken.remove()
