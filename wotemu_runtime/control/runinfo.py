"""run.json: what the report needs to know about a run besides its records (docs/design.md §8.4)."""

import gzip
import json
from collections import defaultdict
from pathlib import Path

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


def drops(bundle: Path) -> dict[str, int]:
    totals = defaultdict(int)
    for record in _records(bundle, "drops"):
        totals[record["kind"]] += int(record.get("count", 0))
    return dict(totals)


def run_info(
    stack_model: dict,
    bundle: str,
    hosts: list[dict],
    versions: dict,
    started_at: str,
    stopped_at: str,
    probes: list | None = None,
    not_collected: list[dict] | None = None,
) -> dict:
    path = Path(bundle)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": stack_model["run_id"],
        "stack": stack_model["stack"],
        "topology": stack_model["topology"],
        "hosts": hosts,
        "versions": versions,
        "started_at": started_at,
        "stopped_at": stopped_at,
        "gateways": gateways(path),
        "probes": probes or [],
        "drops": drops(path),
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
