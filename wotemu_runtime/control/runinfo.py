"""run.json: what the report needs to know about a run besides its records (docs/design.md §8.4)."""

import gzip
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wotemu_runtime.contract.records import UNSTORED_MARK, total_drops
from wotemu_runtime.control.probes import probe_results
from wotemu_runtime.net.timeline import Timeline

SCHEMA_VERSION = 1


def _records(bundle: Path, kind: str) -> list[dict]:
    path = bundle / f"{kind}.jsonl.gz"
    if not path.exists():
        return []
    with gzip.open(path, "rt") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def gateways(bundle: Path) -> dict:
    """Backend and unhonoured parameters per network, as each gateway reported them (last start wins)."""
    found = {}
    for info in sorted(_records(bundle, "info"), key=lambda r: r.get("t", 0)):
        if info.get("backend") and info.get("netem") is not None:
            network = info.get("network") or info["service"].removeprefix("gw_")
            found[network] = {
                "backend": info["backend"],
                "unhonoured": info.get("unhonoured", []),
                "netem": info["netem"],
                "interface": info.get("interface"),
            }
    return found


def _unix(iso: str) -> float:
    """Unix seconds of a run.json time (naive: UTC)."""
    when = datetime.fromisoformat(iso)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def probes(
    bundle: Path, stack_model: dict, started: str | None, ended: str, faults: list[dict] = ()
) -> tuple[list[dict], list[dict]]:
    """The probe rounds judged against the conditions each network's gateway had in force during
    them, by the timeline of the conditions and scenario the stack gave it; and the rounds left out
    (across a scenario change or partition, or a kill or scale change of the round's peer, or not
    over by the run's end, when the stop takes the peers away mid-round: their lost echoes are no
    network's loss)."""
    gateways = [service["config"] for service in stack_model["services"] if service["role"] == "gateway"]
    return probe_results(
        _records(bundle, "probes"),
        {gateway["network"]: Timeline(gateway["netem"], gateway["scenario"]) for gateway in gateways},
        None if started is None else _unix(started),
        _unix(ended),
        _records(bundle, "traffic"),
        faults,
        {gateway["network"]: {link["service"]: link for link in gateway["links"]} for gateway in gateways},
    )


def links(stack_model: dict) -> dict[str, dict[str, dict]]:
    """Each network's access links as its gateway was given them: {network: {node: {up, down}}}."""
    return {
        service["config"]["network"]: {
            link["node"]: {"up": link["up"], "down": link["down"]} for link in service["config"]["links"]
        }
        for service in stack_model["services"]
        if service["role"] == "gateway" and service["config"]["links"]
    }


def drops(bundle: Path) -> dict[str, int]:
    return total_drops(_records(bundle, "drops"))


def unstored(last_words: dict[str, dict]) -> dict[str, dict[str, int]]:
    """Records each service's writers said they could not store as they exited ({service: {kind:
    count}}), from the last log lines of its containers (the results role's `wotemu_last_words`)."""
    totals: dict[str, Counter] = {}
    for container in last_words.values():
        for line in container.get("lines") or ():
            if UNSTORED_MARK in line:
                counts = json.loads(line.split(UNSTORED_MARK, 1)[1])
                totals.setdefault(container["service"], Counter()).update(counts)
    return {service: dict(sorted(counts.items())) for service, counts in sorted(totals.items())}


def exited_before_the_stop(bundle: Path) -> dict[str, dict]:
    """The log tails of the tasks that had exited by the snapshot (a replica that failed and was
    replaced mid-run), in the followers' shape: their last words are in tasks.json only."""
    path = bundle / "tasks.json"
    tasks = json.loads(path.read_text()) if path.exists() else []
    return {
        task["task"]: {"service": task["service"], "lines": task["logs_tail"]}
        for task in tasks
        if task.get("state") != "running" and isinstance(task.get("logs_tail"), list)
    }


def ended_at(started_at: str | None, duration_s: float | None, stop_began: str) -> str:
    """The run's end: its start plus the duration in force, or the stop if that came first."""
    if started_at is None or duration_s is None:
        return stop_began
    planned = datetime.fromisoformat(started_at) + timedelta(seconds=duration_s)
    return min(planned, datetime.fromisoformat(stop_began)).isoformat()


def in_force(topology: dict, overrides: dict) -> dict:
    """The topology with each override (a dotted key path) at the value that was in force."""
    topology = json.loads(json.dumps(topology))
    for path, override in overrides.items():
        *parents, last = path.split(".")
        node = topology
        for part in parents:
            node = node[part]
        node[last] = override["in_force"]
    return topology


def run_info(
    stack_model: dict,
    bundle: str,
    hosts: list[dict],
    versions: dict,
    run_state: dict,
    stop_began: str,
    stopped_at: str,
    not_collected: list[dict] | None = None,
    last_words: dict[str, dict] | None = None,
) -> dict:
    """`run_state` is what the deploy phase kept: `started_at`, `duration_s`, `overrides` and, with
    kills or scale changes in the scenario, the `faults` the run phase applied."""
    path = Path(bundle)
    overrides = run_state.get("overrides") or {}
    started_at = run_state.get("started_at")
    ended = ended_at(started_at, run_state.get("duration_s"), stop_began)
    faults = run_state.get("faults") or []
    judged, left_out = probes(path, stack_model, started_at, ended, faults)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": stack_model["run_id"],
        "stack": stack_model["stack"],
        "topology": in_force(stack_model["topology"], overrides),
        "overrides": overrides,
        "hosts": hosts,
        "versions": versions,
        "started_at": started_at,
        "ended_at": ended,
        "stopped_at": stopped_at,
        "gateways": gateways(path),
        "links": links(stack_model),
        "probes": judged,
        # Probe rounds with no verdict ({"network", "round", "t", "why"}).
        "probes_left_out": left_out,
        # The scenario's kills and scale changes as applied (library/wotemu_faults.py), in time order.
        "faults": faults,
        "drops": drops(path),
        # Records that never reached the store, as their writers counted them at exit.
        "unstored": unstored({**exited_before_the_stop(path), **(last_words or {})}),
        # What the stop could not collect ({"what", "why"}): the bundle is incomplete there.
        "not_collected": not_collected or [],
    }


def hosts_from_swarm(nodes: list[dict]) -> list[dict]:
    """The swarm's nodes as the topology checks and the report see them: labels and capacity."""
    hosts = []
    for node in nodes:
        description = node.get("Description", {})
        resources = description.get("Resources", {})
        hosts.append(
            {
                "name": description.get("Hostname", node["ID"]),
                "labels": node.get("Spec", {}).get("Labels") or {},
                "cpus": resources.get("NanoCPUs", 0) / 1e9 or None,
                "mem_bytes": resources.get("MemoryBytes") or None,
                "arch": description.get("Platform", {}).get("Architecture"),
                "role": node.get("Spec", {}).get("Role"),
                "state": node.get("Status", {}).get("State"),
            }
        )
    return hosts


def networks_from_docker(networks: list[dict]) -> list[dict]:
    """The engine's networks (`docker_host_info`, verbose) as the subnet check sees them: name, subnets."""
    named = []
    for network in networks:
        pools = (network.get("IPAM") or {}).get("Config") or []
        subnets = [pool["Subnet"] for pool in pools if "Subnet" in pool]
        named.append({"name": network["Name"], "subnets": subnets})
    return named
