"""Synthetic results bundles, for the report's tests and benchmarks.

    python -m wotemu_testbench.synthetic OUT_DIR [--interactions N] [--tasks M] [--events N] [--duration S]
                                    [--seed K] [--no-traffic]

writes a bundle that follows docs/design.md §8.4 into OUT_DIR: `run.json` (schema_version 1, a
normalised topology of three networks, a broker and five node services), one `<kind>.jsonl.gz` per
record kind of §8.3 (empty gzip files where a kind has no records), and `tasks.json`.

What it contains, so that every section of the report has something to show:
* M tasks in all (at least 12): redis, one gateway per network, the broker, a server, a `flaky`
  node whose first task failed and was restarted, and readers, writers and sensors sharing the rest.
* The `lan` gateway fails half-way and is restarted: its new task's traffic counters start again
  from zero (counters are cumulative per gateway task, as the gateways publish them).
* N interaction records (80 % consumer side, 20 % producer side; about 4 % errors with messages)
  over a run as long as the consumers need at one interaction per second each (at least 10 min:
  a million records from 200 tasks is a run of about 1.5 h), on 40 things of 8 operations each
  (a few things take most calls), event records (subscriptions, notifications, emissions),
  system samples every 2 s (the product's period) against the services' limits, traffic every
  5 s per gateway (the gateways' period) with packet counts in proportion to the consumers, app
  metrics, lifecycle records, one `info` per task and a few `drops`.
* One record in 100 000 of the interactions and system tables malformed, as a crash mid-write or
  a buggy app leaves them (a truncated line, a field of the wrong type, a required field
  missing): the bundle reader must set them aside (none in bundles of under 100 000).
* Each gateway task's shaper totals (`shaping`), each packet dropped with its network's loss.
* Three probe rounds per network, simulated from that network's conditions (see `probes`), and
  judged into run.json's `probes` by the product's own judge: no made-up verdicts (rounds at 60, 120
  and 180 s; one not over by a short run's end goes to `probes_left_out`, as a real run's does).
* One network shaped by NetEm, two by the userspace shaper, one of those with unhonoured
  parameters (the summary must warn about both).

The output is deterministic for a given seed.
"""

import argparse
import gzip
import json
import string
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from wotemu_runtime.contract.conditions import DEFAULTS, one_way_loss
from wotemu_runtime.contract.records import COMMON_FIELDS, FIELDS, KINDS
from wotemu_runtime.control.probes import probe_results
from wotemu_runtime.net.probe import PACKET_BYTES
from wotemu_runtime.net.timeline import Timeline

STACK = "synthetic"
RUN_ID = f"{STACK}-20250115T100000"
STARTED_AT = datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC).timestamp()
SYSTEM_PERIOD_S = 2.0  # contract.config's system_period_s default
TRAFFIC_PERIOD_S = 5.0  # the gateways' counter period
MIN_TASKS = 12
MIN_DURATION_S = 600.0
INTERACTIONS_PER_CONSUMER_S = 1.0
MALFORMED_SHARE = 1e-5

NETEM = {
    "cell": {"delay_ms": 300.0, "jitter_ms": 150.0, "rate_bps": 1_500_000},
    "lan": {"delay_ms": 5.0, "jitter_ms": 1.0, "rate_bps": 100_000_000},
    "wifi": {"delay_ms": 25.0, "jitter_ms": 5.0, "rate_bps": 50_000_000, "duplicate_pct": 0.1},
}
PRESETS = {"cell": "regular_3g", "wifi": "wifi"}  # lan has explicit parameters
BACKENDS = {"cell": ("userspace", []), "lan": ("netem", []), "wifi": ("userspace", ["duplicate_pct"])}
HOSTS = [
    {
        "name": "lab-large-1",
        "labels": {"cpu_class": "large"},
        "cpus": 8,
        "mem_bytes": 16 << 30,
        "arch": "x86_64",
    },
    {
        "name": "lab-small-1",
        "labels": {"cpu_class": "small"},
        "cpus": 2,
        "mem_bytes": 2 << 30,
        "arch": "aarch64",
    },
    {
        "name": "lab-small-2",
        "labels": {"cpu_class": "small"},
        "cpus": 2,
        "mem_bytes": 2 << 30,
        "arch": "aarch64",
    },
]
THING_KINDS = ["Thermostat", "Lamp", "Meter", "Valve", "Camera"]
THINGS = [(f"urn:wotemu:synthetic:{i:02d}", f"{THING_KINDS[i % 5]} {i // 5 + 1}") for i in range(40)]
# Per thing: (verb, name, weight); things are called with Zipf-like weights (1 / rank).
THING_OPERATIONS = [
    ("readproperty", "temperature", 0.3),
    ("readproperty", "humidity", 0.15),
    ("readproperty", "state", 0.15),
    ("readproperty", "battery", 0.05),
    ("readproperty", "firmware", 0.05),
    ("writeproperty", "setpoint", 0.15),
    ("invokeaction", "reset", 0.05),
    ("invokeaction", "toggle", 0.1),
]
_THING_WEIGHTS = [1 / (rank + 1) for rank in range(len(THINGS))]
OPERATIONS = [  # (thing index, verb, name, weight)
    (i, verb, name, weight * _THING_WEIGHTS[i] / sum(_THING_WEIGHTS))
    for i in range(len(THINGS))
    for verb, name, weight in THING_OPERATIONS
]
PROTOCOLS = {"http": 0.35, "ws": 0.25, "coap": 0.25, "mqtt": 0.15}
MEDIAN_LATENCY_S = {"http": 0.65, "ws": 0.45, "coap": 0.4, "mqtt": 0.5}
ERRORS = [
    "TimeoutError: the interaction did not complete in 10 s",
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "ClientRequestTimeout: CoAP request timed out",
]
TRAFFIC_PROTOCOLS = ["http", "ws", "coap", "mqtt", "catalogue", "other"]
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/{service}.py", line 12, in main\n'
    "    raise RuntimeError('{service} lost its device')\n"
    "RuntimeError: {service} lost its device"
)


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def netem(network: str, seed: int, delay_added_ms: float = 0.0) -> dict:
    """The canonical conditions of §8.2 for one of the synthetic networks, `delay_added_ms` slower."""
    loss = {"model": "random", "pct": 0.5, "correlation_pct": 0.0}
    conditions = {**DEFAULTS, "loss": loss, "seed": seed, **NETEM[network]}
    return {**conditions, "delay_ms": conditions["delay_ms"] + delay_added_ms}


def node(
    name: str,
    networks: list[str],
    scale: int,
    app: dict,
    cpu: float | None,
    mem_mib: int | None,
    placement: dict | None = None,
    broker: str | None = None,
) -> dict:
    """A node as the topology model dumps it (wotemu_runtime.topology: `Topology.model_dump`)."""
    return {
        "name": name,
        "app": {
            "builtin": None,
            "path": None,
            "url": None,
            "sha256": None,
            "params": {},
            "protocols": [],
            **app,
        },
        "networks": networks,
        "scale": scale,
        "resources": {
            "cpu_limit": cpu,
            "cpu_reservation": None,
            "mem_limit": float(mem_mib * 2**20) if mem_mib else None,
            "mem_reservation": None,
        },
        "placement": placement or {},
        "env": {},
        "broker": broker,
    }


def topology(sizes: dict[str, int], duration: float, seed: int, delay_added_ms: float) -> dict:
    """The topology as normalised by the topology model (the report relies only on networks, nodes
    with networks, scale and app, and brokers; the rest is there to look like the real thing)."""
    networks = []
    for name, canonical in ((name, netem(name, seed, delay_added_ms)) for name in NETEM):
        loss = {"model": "random", "probability": canonical["loss"]["pct"], "correlation": 0.0}
        networks.append(
            {
                "name": name,
                "conditions": PRESETS.get(name),
                "subnet": None,
                "netem": {
                    "delay": canonical["delay_ms"],
                    "jitter": canonical["jitter_ms"],
                    "distribution": "normal",
                    "correlation": 0.0,
                    "loss": loss,
                    "duplicate": canonical["duplicate_pct"],
                    "corrupt": 0.0,
                    "reorder": 0.0,
                    "reorder_correlation": 0.0,
                    "rate": float(canonical["rate_bps"]),
                    "limit": 1000,
                },
            }
        )
    all_protocols = ["http", "ws", "coap", "mqtt"]
    nodes = [
        node(
            "server",
            ["cell", "lan", "wifi"],
            1,
            {"path": "apps/quickstart_server.py", "protocols": all_protocols},
            2.0,
            512,
            {"cpu_class": "large"},
            broker="broker",
        ),
        node(
            "reader",
            ["cell"],
            sizes["reader"],
            {"builtin": "reader", "params": {"servient_host": "server.cell"}},
            0.5,
            150,
            {"cpu_class": "small"},
        ),
        node(
            "writer",
            ["wifi", "lan"],
            sizes["writer"],
            {"builtin": "writer", "params": {"servient_host": "server.wifi"}},
            0.5,
            150,
        ),
        node(
            "sensor",
            ["lan"],
            sizes["sensor"],
            {"builtin": "sensor", "protocols": ["mqtt"]},
            0.25,
            100,
            broker="broker",
        ),
        node("flaky", ["wifi"], 1, {"path": "apps/flaky.py", "protocols": ["http"]}, None, None),
    ]
    return {
        "experiment": {
            "name": STACK,
            "duration": duration,
            "seed": seed,
            "subnet_pool": "10.211.0.0/16",
            "system_period": SYSTEM_PERIOD_S,
            "extra_ports": {"tcp": [], "udp": []},
        },
        "networks": networks,
        "nodes": nodes,
        "brokers": [
            {
                "name": "broker",
                "networks": ["lan"],
                "placement": {},
                "resources": {
                    "cpu_limit": None,
                    "cpu_reservation": None,
                    "mem_limit": 104857600.0,
                    "mem_reservation": None,
                },
            }
        ],
    }


class Tasks:
    """The tasks of the run, with their lifetimes; becomes tasks.json."""

    def __init__(self, rng: np.random.Generator, t0: float, t1: float):
        self.rng, self.t0, self.t1 = rng, t0, t1
        self.rows: list[dict] = []

    def add(
        self, service: str, slot: int, node: str, start: float, end: float | None = None, **extra
    ) -> dict:
        """A task that started at `start` and failed at `end` (None: still running at the snapshot)."""
        task_id = "".join(self.rng.choice(list(string.ascii_lowercase + string.digits), 25))
        failed = end is not None
        traceback = TRACEBACK.format(service=service)
        row = {
            "service": service,
            "task": f"{STACK}_{service}.{slot}.{task_id}",
            "slot": slot,
            "node": node,
            "state": "failed" if failed else "running",
            "desired_state": "shutdown" if failed else "running",
            "exit_code": 1 if failed else None,
            "error": "task: non-zero exit (1)" if failed else None,
            "created_at": iso(start - 2.0),
            "updated_at": iso(end if failed else self.t1),
            "logs_tail": f"INFO {service} started\nINFO {service} ready\n" + (traceback if failed else ""),
            # Not part of tasks.json: the generator's own bookkeeping.
            "_start": start,
            "_end": end if failed else self.t1,
            **extra,
        }
        self.rows.append(row)
        return row

    def json(self) -> list[dict]:
        return [{k: v for k, v in row.items() if not k.startswith("_")} for row in self.rows]


def service_sizes(n_tasks: int) -> dict[str, int]:
    """Replicas of the reader, writer and sensor services among n_tasks tasks."""
    rest = n_tasks - 9  # redis, three gateways (+1 restart), broker, server, flaky (+1 restart)
    sizes = {"reader": max(1, rest // 2), "writer": max(1, rest // 4)}
    sizes["sensor"] = rest - sizes["reader"] - sizes["writer"]
    return sizes


def consumer_tasks(n_tasks: int) -> int:
    """The tasks that make consumer-side interactions: readers, writers and the flaky node's two."""
    sizes = service_sizes(n_tasks)
    return sizes["reader"] + sizes["writer"] + 2


def make_tasks(rng: np.random.Generator, n_tasks: int, t0: float, t1: float) -> tuple[Tasks, dict[str, int]]:
    sizes = service_sizes(n_tasks)
    tasks = Tasks(rng, t0, t1)
    half = t0 + (t1 - t0) / 2
    tasks.add("redis", 1, "lab-large-1", t0 - 10)
    for network in NETEM:
        if network == "lan":
            tasks.add("gw_lan", 1, "lab-large-1", t0 - 5, half)
            tasks.add("gw_lan", 1, "lab-large-1", half + 3)
        else:
            tasks.add(f"gw_{network}", 1, "lab-large-1", t0 - 5)
    tasks.add("broker", 1, "lab-small-1", t0 - 4)
    tasks.add("server", 1, "lab-large-1", t0 - 3)
    fail_at = t0 + (t1 - t0) * 0.3
    tasks.add("flaky", 1, "lab-small-2", t0 - 3, fail_at)
    tasks.add("flaky", 1, "lab-small-1", fail_at + 5)
    for service, count in sizes.items():
        for slot in range(1, count + 1):
            tasks.add(service, slot, HOSTS[1 + slot % 2]["name"], t0 - 3 + rng.uniform(0, 2))
    return tasks, sizes


def record(row: dict, t: float) -> dict:
    """The fields every record carries, for one record of task `row` at time t."""
    return {
        "run_id": RUN_ID,
        "service": row["service"],
        "task": row["task"],
        "t": t,
        "mono": t - row["_start"] + 100,
    }


def common(rows: list[dict], t: np.ndarray) -> dict:
    """The columns every record carries, for records of the given tasks at times t."""
    return {
        "run_id": [RUN_ID] * len(rows),
        "service": [row["service"] for row in rows],
        "task": [row["task"] for row in rows],
        "t": t,
        "mono": t - np.array([row["_start"] for row in rows]) + 100.0,
    }


def pick(
    rng: np.random.Generator, rows: list[dict], n: int, t0: float, t1: float
) -> tuple[list[dict], np.ndarray]:
    """n records spread over the tasks `rows`, at times within each task's lifetime, sorted by time."""
    chosen = rng.integers(0, len(rows), n)
    starts = np.array([max(t0, row["_start"]) for row in rows])[chosen]
    ends = np.array([min(t1, row["_end"]) for row in rows])[chosen]
    t = starts + rng.random(n) * (ends - starts)
    order = np.argsort(t, kind="stable")
    return [rows[i] for i in chosen[order]], t[order]


def interactions(rng: np.random.Generator, tasks: Tasks, n: int, latency_scale: float = 1.0) -> pd.DataFrame:
    consumers = [r for r in tasks.rows if r["service"] in ("reader", "writer", "flaky")]
    producers = [r for r in tasks.rows if r["service"] == "server"]
    n_producer = n // 5
    frames = []
    for side, rows, count in (("consumer", consumers, n - n_producer), ("producer", producers, n_producer)):
        who, t = pick(rng, rows, count, tasks.t0, tasks.t1)
        op = rng.choice(len(OPERATIONS), count, p=[o[3] for o in OPERATIONS])
        protocol = rng.choice(list(PROTOCOLS), count, p=list(PROTOCOLS.values()))
        median = np.vectorize(MEDIAN_LATENCY_S.get)(protocol) if count else np.zeros(0)
        latency = latency_scale * median * np.exp(rng.normal(0.0, 0.5, count))
        ok = rng.random(count) >= 0.04
        frame = pd.DataFrame(common(who, t))
        frame["side"] = side
        frame["protocol"] = protocol if side == "consumer" else None
        frame["thing_id"] = [THINGS[OPERATIONS[i][0]][0] for i in op]
        frame["thing_title"] = [THINGS[OPERATIONS[i][0]][1] for i in op]
        frame["verb"] = [OPERATIONS[i][1] for i in op]
        frame["name"] = [OPERATIONS[i][2] for i in op]
        frame["latency_s"] = np.where(ok, latency, 10.0 * (rng.random(count) < 0.5) + latency)
        frame["ok"] = ok
        frame["error"] = np.where(ok, None, rng.choice(ERRORS, count))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).sort_values("t", kind="stable")


def events(rng: np.random.Generator, tasks: Tasks, n: int) -> pd.DataFrame:
    readers = [r for r in tasks.rows if r["service"] == "reader"]
    server = [r for r in tasks.rows if r["service"] == "server"]
    thing_id, title = THINGS[0]
    parts = []
    # Each reader subscribes at its start and its subscription completes at the end of the run;
    # a few subscriptions fail (an error ends a subscription) and are made again a second later.
    for event, t in (
        ("subscribe", [r["_start"] + 4 for r in readers]),
        ("completed", [tasks.t1 - 1] * len(readers)),
    ):
        parts.append({**common(readers, np.array(t)), "side": "consumer", "event": event})
    failing = readers[: max(1, len(readers) // 4)]
    failed_at = tasks.t0 + rng.uniform(0.2, 0.8, len(failing)) * (tasks.t1 - tasks.t0)
    parts.append({**common(failing, failed_at), "side": "consumer", "event": "error"})
    parts.append({**common(failing, failed_at + 1), "side": "consumer", "event": "subscribe"})
    for side, rows, event, share in (("consumer", readers, "next", 0.7), ("producer", server, "emit", 0.3)):
        who, t = pick(rng, rows, int(n * share), tasks.t0, tasks.t1)
        parts.append({**common(who, t), "side": side, "event": event})
    frame = pd.concat([pd.DataFrame(p) for p in parts], ignore_index=True)
    frame["protocol"] = np.where(frame["side"] == "consumer", "ws", None)
    frame["thing_id"], frame["thing_title"] = thing_id, title
    frame["verb"] = np.where(frame["side"] == "consumer", "subscribeevent", "emitevent")
    frame["name"] = "overheat"
    frame["error"] = np.where(frame["event"] == "error", "ConnectionClosed: websocket closed (1006)", None)
    return frame.sort_values("t", kind="stable")


def system(rng: np.random.Generator, tasks: Tasks, topo: dict) -> pd.DataFrame:
    # Per service (cpu cores, memory bytes), as the containers see them; gateways etc. are unlimited.
    service_limits = {
        n["name"]: (
            n["resources"]["cpu_limit"],
            n["resources"]["mem_limit"] and int(n["resources"]["mem_limit"]),
        )
        for n in topo["nodes"]
    }
    frames = []
    for row in tasks.rows:
        t = np.arange(max(row["_start"], tasks.t0), row["_end"], SYSTEM_PERIOD_S)
        cpu_limit, mem_limit = service_limits.get(row["service"], (None, None))
        busy = {"server": 60.0, "redis": 20.0}.get(row["service"], 8.0)
        cpu = np.clip(busy + np.cumsum(rng.normal(0, 2.0, len(t))), 0.5, None)
        if cpu_limit:
            cpu = np.minimum(cpu, cpu_limit * 100)
        mem = (60 + np.cumsum(np.abs(rng.normal(0, 0.2, len(t))))) * 2**20
        frame = pd.DataFrame(common([row] * len(t), t))
        frame["cpu_pct"] = cpu
        # NaN and <NA> become JSON null: "unlimited".
        frame["cpu_limit_cores"] = cpu_limit or np.nan
        frame["cpu_pct_of_limit"] = cpu / cpu_limit if cpu_limit else np.nan
        frame["mem_bytes"] = mem.astype(np.int64)
        frame["mem_limit_bytes"] = pd.array([mem_limit] * len(t), dtype="Int64")
        frame["mem_pct_of_limit"] = mem / mem_limit * 100 if mem_limit else np.nan
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).sort_values("t", kind="stable")


def traffic(rng: np.random.Generator, tasks: Tasks, consumers: int) -> pd.DataFrame:
    """Cumulative counters per gateway task, protocol and direction; each network carries its
    share of the consumers' interactions, three packets each way per interaction."""
    gateways = {row["service"] for row in tasks.rows if row["service"].startswith("gw_")}
    per_period = consumers * INTERACTIONS_PER_CONSUMER_S * TRAFFIC_PERIOD_S / len(gateways)
    shares = {**PROTOCOLS, "catalogue": 0.05, "other": 0.01}
    frames = []
    for row in tasks.rows:
        if not row["service"].startswith("gw_"):
            continue
        t = np.arange(max(row["_start"], tasks.t0), row["_end"], TRAFFIC_PERIOD_S)
        for protocol in TRAFFIC_PROTOCOLS:
            for direction, size in (("request", 120), ("response", 480)):
                packets = np.cumsum(rng.poisson(3 * per_period * shares[protocol], len(t)))
                frame = pd.DataFrame(common([row] * len(t), t))
                frame["network"] = row["service"].removeprefix("gw_")
                frame["protocol"], frame["direction"] = protocol, direction
                frame["packets"] = packets
                frame["bytes"] = packets * size
                frames.append(frame)
    return pd.concat(frames, ignore_index=True).sort_values("t", kind="stable")


def shaping(seed: int, tasks: Tasks) -> pd.DataFrame:
    """Each gateway task's shaper totals: a steady flow, each packet dropped with the network's loss."""
    rng = np.random.default_rng(seed + 2)  # apart from the other tables' draws, which stay as they were
    frames = []
    for row in tasks.rows:
        if not row["service"].startswith("gw_"):
            continue
        network = row["service"].removeprefix("gw_")
        t = np.arange(max(row["_start"], tasks.t0), row["_end"], TRAFFIC_PERIOD_S)
        seen = rng.poisson(400, len(t))
        dropped = rng.binomial(seen, one_way_loss(netem(network, seed)))
        frame = pd.DataFrame(common([row] * len(t), t))
        frame["network"], frame["backend"] = network, BACKENDS[network][0]
        frame["packets"] = np.cumsum(seen - dropped)
        frame["bytes"] = frame["packets"] * 300
        frame["dropped"] = np.cumsum(dropped)
        frame["queued"] = rng.poisson(2, len(t))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).sort_values("t", kind="stable")


def app_metrics(rng: np.random.Generator, tasks: Tasks) -> pd.DataFrame:
    frames = []
    for row in tasks.rows:
        if row["service"] == "sensor":
            metric, period, values = "temperature", 10.0, lambda n: 21 + np.cumsum(rng.normal(0, 0.3, n))
        elif row["service"] == "server":
            metric, period, values = "queue_length", 5.0, lambda n: rng.poisson(3, n).astype(float)
        else:
            continue
        t = np.arange(max(row["_start"], tasks.t0), row["_end"], period)
        frame = pd.DataFrame(common([row] * len(t), t))
        frame["metric"], frame["value"] = metric, values(len(t))
        frame["data"] = [{"unit": "C"} if metric == "temperature" else {}] * len(t)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).sort_values("t", kind="stable")


def lifecycle(tasks: Tasks) -> pd.DataFrame:
    records = []
    for row in tasks.rows:
        steps = [("start", row["_start"], ""), ("ready", row["_start"] + 2, "")]
        if row["state"] == "failed":
            steps += [
                ("error", row["_end"] - 0.5, TRACEBACK.format(service=row["service"])),
                ("exit", row["_end"], "exit code 1"),
            ]
        records += [{**record(row, t), "event": event, "detail": detail} for event, t, detail in steps]
    return pd.DataFrame(records).sort_values("t", kind="stable")


def info(tasks: Tasks, run: dict) -> list[dict]:
    hosts = {h["name"]: h for h in HOSTS}
    records = []
    for row in tasks.rows:
        host = hosts[row["node"]]
        fields = {
            **record(row, row["_start"]),
            "hostname": row["task"].rsplit(".", 1)[1][:12],
            "cpu_count": host["cpus"],
            "mem_total": host["mem_bytes"],
            "python": "3.11.2",
            "platform": f"Linux-6.1.0-{host['arch']}-with-glibc2.36",
            "versions": run["versions"],
        }
        if row["service"].startswith("gw_"):
            gateway = run["gateways"][row["service"].removeprefix("gw_")]
            fields.update(gateway, interface="eth1")
        records.append(fields)
    return records


def scenario(tasks: Tasks) -> list[dict]:
    """The cell's gateway applying a delay step at 60 s and a 30 s partition of the server at 120 s."""
    gateway = next(r for r in tasks.rows if r["service"] == "gw_cell")
    steps = [
        (0, "start", 60.0, None, {"delay_ms": [50.0, 200.0]}, []),
        (1, "start", 120.0, 150.0, {}, ["server.cell"]),
        (1, "end", 150.0, 150.0, {}, []),
    ]
    records = []
    for index, (action, change, at, until, changed, cut_off) in enumerate(steps):
        planned, lateness = tasks.t0 + at, 0.002 + 0.003 * index
        records.append(
            {
                **record(gateway, planned + lateness),
                "network": "cell",
                "action": action,
                "action_type": "partition" if action else "netem",
                "change": change,
                "planned_t": planned,
                "applied_t": planned + lateness,
                "lateness_s": lateness,
                "from_t": tasks.t0 + (at if change == "start" else 120.0),
                "until_t": None if until is None else tasks.t0 + until,
                "changed": changed,
                "cut_off": cut_off,
            }
        )
    return records


def drops(tasks: Tasks) -> pd.DataFrame:
    reader = next(r for r in tasks.rows if r["service"] == "reader")
    frame = pd.DataFrame(common([reader, reader], np.array([tasks.t0 + 60, tasks.t0 + 120])))
    frame["kind"], frame["count"] = ["interactions", "system"], [7, 2]
    return frame


def probes(seed: int, tasks: Tasks, delay_added_ms: float) -> list[dict]:
    """Probe rounds simulated from each network's own conditions, three per network. The model: a
    round trip is two crossings, each delayed by delay + normal jitter (cut at 0) and each lost with
    the loss share; requests are the probe's own packets. Judged as a real run's are (control/probes)."""
    rng = np.random.default_rng(seed + 1)  # apart from the other tables' draws, which stay as they were
    reader = next(r for r in tasks.rows if r["service"] == "reader")
    rounds = []
    for network in BACKENDS:
        conditions = netem(network, seed, delay_added_ms)
        for number in (1, 2, 3):
            sent = 100
            crossings = conditions["delay_ms"] + conditions["jitter_ms"] * rng.standard_normal((sent, 2))
            answered = (rng.random((sent, 2)) >= conditions["loss"]["pct"] / 100).all(axis=1)
            ways = crossings.clip(min=0)[answered]  # request, echo
            rtts = ways.sum(axis=1)
            rounds.append(
                {
                    **record(reader, tasks.t0 + 60 * number),
                    "network": network,
                    "round": number,
                    "peer": reader["task"],
                    "sent": sent,
                    "received": len(rtts),
                    "bytes_sent": PACKET_BYTES * sent,
                    "packet_bytes": PACKET_BYTES,
                    "interval_s": 0.01,
                    "rtt_ms": [round(float(rtt), 3) for rtt in rtts],
                    "forward_ms": [round(float(way), 3) for way in ways[:, 0]],
                    "back_ms": [round(float(way), 3) for way in ways[:, 1]],
                    "host": reader["node"],  # prober and peer on one host: each way is judged
                    "peer_host": reader["node"],
                }
            )
    return rounds


def write_table(frame: pd.DataFrame | list[dict] | None, path: Path) -> None:
    """One JSON record per line, gzip; an empty gzip file when there are no records (§8.4)."""
    if frame is None or len(frame) == 0 or isinstance(frame, list):
        # Lists of dicts: records whose keys differ by role (info), which a frame would pad with nulls.
        with gzip.open(path, "wt") as out:
            out.writelines(json.dumps(record) + "\n" for record in frame or [])
        return
    # Level 1: the bundle is written once and read once; speed matters more than a few MB.
    frame.to_json(path, orient="records", lines=True, compression={"method": "gzip", "compresslevel": 1})


def malformed(frame: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    """Lines as a crash mid-write or a buggy app leaves them, MALFORMED_SHARE of the table's:
    in turn a truncated line, a field of the wrong type, a required field missing."""
    lines = []
    for n, row in enumerate(rng.integers(0, len(frame), int(len(frame) * MALFORMED_SHARE))):
        good = frame.iloc[[row]].to_json(orient="records", lines=True).strip()
        bad = json.loads(good)
        if n % 3 == 0:
            lines.append(good[: len(good) // 2])
            continue
        if n % 3 == 1:
            bad["t"] = "yesterday"
        else:
            del bad["task"]
        lines.append(json.dumps(bad))
    return lines


def append_lines(path: Path, lines: list[str]) -> None:
    """Append lines to a gzip table as a second gzip member (gzip readers read members in turn)."""
    if lines:
        with gzip.open(path, "at") as out:
            out.writelines(line + "\n" for line in lines)


def generate(
    out_dir: Path,
    interactions_n: int = 10_000,
    tasks_n: int = 40,
    events_n: int | None = None,
    duration: float | None = None,
    seed: int = 42,
    with_traffic: bool = True,
    latency_scale: float = 1.0,
    delay_added_ms: float = 0.0,
) -> Path:
    """Write a synthetic bundle into out_dir (created if needed) and return it. `duration` (s)
    defaults to what the consumers need at INTERACTIONS_PER_CONSUMER_S. `latency_scale`
    multiplies every interaction's latency, and `delay_added_ms` is added to every network's
    delay (its probes measure it): designs whose true differences are known."""
    if tasks_n < MIN_TASKS:
        raise ValueError(f"--tasks must be at least {MIN_TASKS}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    consumers = consumer_tasks(tasks_n)
    if duration is None:
        duration = max(
            MIN_DURATION_S, (interactions_n - interactions_n // 5) / consumers / INTERACTIONS_PER_CONSUMER_S
        )
    t0, t1 = STARTED_AT, STARTED_AT + duration
    tasks, sizes = make_tasks(rng, tasks_n, t0, t1)
    topo = topology(sizes, duration, seed, delay_added_ms)
    simulated = probes(seed, tasks, delay_added_ms)
    # Judged against each network's own conditions, as the rounds are simulated from them alone; a
    # round not over by the end of a short run is left out, as a real run's is.
    conditions = {name: netem(name, seed, delay_added_ms) for name in BACKENDS}
    timelines = {name: Timeline(conditions[name], []) for name in BACKENDS}
    judged, left_out = probe_results(simulated, timelines, t0, t1)
    run = {
        "schema_version": 1,
        "run_id": RUN_ID,
        "stack": STACK,
        "topology": topo,
        "hosts": HOSTS,
        "versions": {"wotemu": "0.1.0", "wotpy": "0.18.0", "docker": "20.10.24", "python": "3.11.2"},
        "started_at": iso(t0),
        "ended_at": iso(t1),
        "stopped_at": iso(t1),
        "overrides": {},
        "gateways": {
            name: {"backend": backend, "unhonoured": unhonoured, "netem": conditions[name]}
            for name, (backend, unhonoured) in BACKENDS.items()
        },
        "probes": judged,
        "drops": {"interactions": 7, "system": 2},
    }
    if left_out:  # optional in run.json (§8.4): here only when a short run ended mid-round
        run["probes_left_out"] = left_out
    (out_dir / "run.json").write_text(json.dumps(run, indent=2))
    (out_dir / "tasks.json").write_text(json.dumps(tasks.json(), indent=2))
    n_events = interactions_n // 5 if events_n is None else events_n
    tables = {
        "interactions": interactions(rng, tasks, interactions_n, latency_scale) if interactions_n else None,
        "events": events(rng, tasks, n_events) if n_events else None,
        "system": system(rng, tasks, topo),
        "traffic": traffic(rng, tasks, consumers) if with_traffic else None,
        "shaping": shaping(seed, tasks) if with_traffic else None,
        "app": app_metrics(rng, tasks),
        "lifecycle": lifecycle(tasks),
        "info": info(tasks, run),
        "drops": drops(tasks),
        "probes": simulated,
        "scenario": scenario(tasks),
    }
    for kind in KINDS:  # every kind of the contract, each record with the kind's fields
        frame = tables[kind]
        for fields in [frame.columns] if isinstance(frame, pd.DataFrame) else frame or []:
            missing = {*COMMON_FIELDS, *FIELDS[kind]} - set(fields)
            if missing:
                raise ValueError(f"the synthetic {kind} records lack {sorted(missing)}")
        write_table(frame, out_dir / f"{kind}.jsonl.gz")
    for kind in ("interactions", "system"):
        if tables[kind] is not None and len(tables[kind]):
            append_lines(out_dir / f"{kind}.jsonl.gz", malformed(tables[kind], rng))
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wotemu_testbench.synthetic",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="where to write the bundle")
    parser.add_argument(
        "--interactions", type=int, default=10_000, help="interaction records (default 10000)"
    )
    parser.add_argument("--tasks", type=int, default=40, help=f"tasks in all, >= {MIN_TASKS} (default 40)")
    parser.add_argument("--events", type=int, default=None, help="event records (default interactions / 5)")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="run duration in seconds (default: one interaction/s per consumer)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--no-traffic", action="store_true", help="no traffic or shaping records (empty tables)"
    )
    args = parser.parse_args(argv)
    if args.tasks < MIN_TASKS:
        parser.error(f"--tasks must be at least {MIN_TASKS}")
    generate(
        args.out_dir,
        args.interactions,
        args.tasks,
        args.events,
        args.duration,
        args.seed,
        not args.no_traffic,
    )
    print(args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
