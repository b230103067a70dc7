"""The record kinds (design §8.3) and the fields each carries, with their types.

The writers write them, the exporter makes one file per kind, the report reads them with these
types and the synthetic bundles are checked against them. `None` marks free JSON (a number or an
object the kind does not fix). Records may carry more fields (info's role-specific keys).

A field may be null (or absent) unless it is common or in `REQUIRED`: the fields without which a
record means nothing (when, where, what happened). `problem()` checks one
record against these models; the report sets aside, and counts, every record it refuses.
"""

from collections import Counter
from collections.abc import Iterable

COMMON_FIELDS: dict[str, type] = {"run_id": str, "service": str, "task": str, "t": float, "mono": float}

FIELDS: dict[str, dict[str, type | None]] = {
    "interactions": {
        "side": str,  # consumer | producer
        "protocol": str,  # http | ws | coap | mqtt (contract.ports.PROTOCOLS); null on the producer side
        "thing_id": str,
        "thing_title": str,
        "verb": str,
        "name": str,
        "latency_s": float,
        "ok": bool,
        "error": str,
    },
    "events": {
        "side": str,
        "protocol": str,
        "thing_id": str,
        "thing_title": str,
        "verb": str,
        "name": str,
        "event": str,  # subscribe | next | error | completed | emit
        "error": str,
    },
    "system": {
        "cpu_pct": float,
        "cpu_limit_cores": float,
        "cpu_pct_of_limit": float,
        "mem_bytes": float,
        "mem_limit_bytes": float,
        "mem_pct_of_limit": float,
    },
    "traffic": {
        "network": str,
        "protocol": str,  # http | ws | coap | mqtt | catalogue | probe | other
        "direction": str,  # request | response
        "packets": int,
        "bytes": int,
    },
    # What a gateway's shaper let out on its network, and dropped (loss, queue overflow): the
    # shaper's own cumulative counts per gateway task, packets as the shaper saw them (segments).
    "shaping": {
        "network": str,
        "backend": str,  # netem | userspace
        "packets": int,  # left the gateway after shaping, duplicates included
        "bytes": int,  # their IP bytes
        "dropped": int,  # packets
        "queued": int,  # packets held in its queue at the sample
    },
    "app": {"metric": str, "value": None, "data": None},
    "lifecycle": {"event": str, "detail": str},  # start | ready | error | exit
    "info": {
        "hostname": str,
        "cpu_count": None,
        "mem_total": None,
        "python": str,
        "platform": str,
        "versions": None,
    },
    "drops": {"kind": str, "count": int},
    # One probe round across a network (net/probe.py): round trips of UDP echoes to a peer task.
    "probes": {
        "network": str,
        "round": int,  # 1, 2, ... per network; round 1 runs before the prober's own app starts
        "peer": str,  # the task that echoed
        "sent": int,  # echo requests sent
        "received": int,  # distinct requests answered
        "bytes_sent": int,  # IP bytes of the requests (the echoes add as many)
        "packet_bytes": int,  # IP size of one request
        "interval_s": float,  # between two requests
        "rtt_ms": None,  # the answered round trips, in ms, in send order
        # The same requests' one-way delays, request and echo, by the wall clock (ms): one clock
        # only when `host` and `peer_host` (the swarm nodes of prober and peer) are the same.
        "forward_ms": None,
        "back_ms": None,
        "host": str,  # absent where the node runs outside a swarm (the lab)
        "peer_host": str,
    },
    # A start or end of a scenario action, as a gateway applied it (net/scenario.py).
    "scenario": {
        "network": str,
        "action": int,  # its index in the topology's `scenario`
        "action_type": str,  # netem | partition
        "change": str,  # start | end | resume (a gateway restarted while the action was active)
        "planned_t": float,  # Unix seconds: the run's start + the action's time
        "applied_t": float,  # when the shaper and the partition rules had the new state
        "lateness_s": float,
        "from_t": float,  # the start of this occurrence of the action
        "until_t": float,  # its planned end; null: none (in force to the end of the run)
        "changed": None,  # {condition: [before, after]} for the conditions that changed
        "cut_off": None,  # the `<node>.<network>` aliases cut off after the change
    },
}

KINDS = tuple(FIELDS)
OPEN_KINDS = ("info",)  # kinds whose writers may add their own keys


def unknown_fields(kind: str, fields) -> list[str]:
    """The fields a record of `kind` may not carry (every field, for an unknown kind): a writer that
    names one is out of step with the contract, so a renamed field fails where it is written."""
    if kind not in FIELDS:
        return sorted(fields) or [f"(kind {kind!r})"]
    if kind in OPEN_KINDS:
        return []
    return sorted(set(fields) - FIELDS[kind].keys())


# The last words of a writer that could not store everything, on its container's log: this mark,
# then {kind: count} as JSON. The stop reads them into run.json's `unstored`.
UNSTORED_MARK = "records not stored: "

REQUIRED: dict[str, set[str]] = {
    "interactions": {"side", "verb", "name", "latency_s", "ok"},
    "events": {"side", "verb", "name", "event"},
    "system": {"cpu_pct", "mem_bytes"},
    "traffic": {"network", "protocol", "direction", "packets", "bytes"},
    "shaping": {"network", "backend", "packets", "bytes", "dropped"},
    "app": {"metric"},
    "lifecycle": {"event"},
    "info": set(),
    "drops": {"kind", "count"},
    "probes": {"network", "round", "peer", "sent", "received"},
    "scenario": {
        "network",
        "action",
        "action_type",
        "change",
        "planned_t",
        "applied_t",
        "lateness_s",
        "from_t",
    },
}


def _is(value, kind: type | None) -> bool:
    if kind is None:
        return True
    if isinstance(value, bool):  # bool is an int to Python, never a number to a record
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def problem(kind: str, record) -> tuple[str | None, str] | None:
    """Why `record` is not a valid record of `kind`: (field or None, message); None if it is valid."""
    if not isinstance(record, dict):
        return None, f"not a JSON object but {type(record).__name__}"
    for field, field_type in {**COMMON_FIELDS, **FIELDS[kind]}.items():
        required = field in COMMON_FIELDS or field in REQUIRED[kind]
        value = record.get(field)
        if value is None:
            if required:
                return field, "missing" if field not in record else "null"
        elif not _is(value, field_type):
            return field, f"{type(value).__name__} {_short(value)}, expected {field_type.__name__}"
    return None


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def total_drops(drops: Iterable[dict]) -> dict[str, int]:
    """What `drops` records add up to: records dropped per kind over the run (run.json's `drops`)."""
    totals: Counter[str] = Counter()
    for record in drops:
        totals[record["kind"]] += int(record["count"])
    return dict(totals)
