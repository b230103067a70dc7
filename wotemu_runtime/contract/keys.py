"""The Redis keys of a run (design §8.3), all under wotemu:<run_id>:. A part may be "*" in a pattern.

What a role may write is under the name of its service (the writer): its record streams, its batch
numbers, its tasks' readiness; so contract.acl can give each service's Redis user its own keys only.
Service names hold no ':' (topology.schema), so `rec:<writer>:*` matches that writer's keys only.
"""


def key(run_id: str, *parts: str) -> str:
    """wotemu:<run_id>:<parts...>"""
    return ":".join(("wotemu", run_id, *parts))


def record_stream(run_id: str, writer: str, kind: str) -> str:
    """The stream of one record kind from one writer (a service): entries with one field `r`, the
    JSON record. A kind's records are all writers' streams of it, merged by entry id."""
    return key(run_id, "rec", writer, kind)


def record_stream_parts(run_id: str, stream: str) -> tuple[str, str]:
    """(writer, kind) of a record stream's key."""
    writer, kind = stream.removeprefix(key(run_id, "rec", "")).split(":", 1)
    return writer, kind


def batches(run_id: str, writer: str) -> str:
    """Hash: the last batch sequence number of each of the writer's processes (exactly-once appends)."""
    return key(run_id, "batches", writer)


def gateway(run_id: str, network: str) -> str:
    """A network's gateway announcement (readiness), refreshed while it shapes."""
    return key(run_id, "gw", network)


def ready(run_id: str, service: str, task: str) -> str:
    """Set by a node's task once its routes point at its gateways."""
    return key(run_id, "ready", service, task)


def window(run_id: str) -> str:
    """When the experiment started and when it ends: nodes start no interaction after the end."""
    return key(run_id, "window")


def probe_lease(run_id: str, network: str) -> str:
    """Held by the node task probing `network` this round; it expires, so each round has one prober."""
    return key(run_id, "probe", network, "lease")


def probe_peers(run_id: str, network: str) -> str:
    """Hash task -> {"address", "t"}: the nodes answering the probe's echo on `network`."""
    return key(run_id, "probe", network, "peers")


def probe_rounds(run_id: str, network: str) -> str:
    """How many probe rounds `network` has had: a round's number (1: before the prober's app)."""
    return key(run_id, "probe", network, "rounds")
