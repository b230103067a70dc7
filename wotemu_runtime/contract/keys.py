"""The Redis keys of a run (design §8.3), all under wotemu:<run_id>:. A part may be "*" in a pattern."""


def key(run_id: str, *parts: str) -> str:
    """wotemu:<run_id>:<parts...>"""
    return ":".join(("wotemu", run_id, *parts))


def record_stream(run_id: str, kind: str) -> str:
    """The stream of one record kind: entries with one field `r`, the JSON record."""
    return key(run_id, "rec", kind)


def gateway(run_id: str, network: str) -> str:
    """A network's gateway announcement (readiness), refreshed while it shapes."""
    return key(run_id, "gw", network)


def ready(run_id: str, task: str) -> str:
    """Set by a node's task once its routes point at its gateways."""
    return key(run_id, "ready", task)


def window(run_id: str) -> str:
    """When the experiment started and when it ends: nodes start no interaction after the end."""
    return key(run_id, "window")


def writers(run_id: str) -> str:
    """The last batch sequence number of each writer (exactly-once appends)."""
    return key(run_id, "writers")


def probe_lease(run_id: str, network: str) -> str:
    """Held by the node task probing `network` this round; it expires, so each round has one prober."""
    return key(run_id, "probe", network, "lease")


def probe_peers(run_id: str, network: str) -> str:
    """Hash task -> {"address", "t"}: the nodes answering the probe's echo on `network`."""
    return key(run_id, "probe", network, "peers")


def probe_rounds(run_id: str, network: str) -> str:
    """How many probe rounds `network` has had: a round's number (1: before the prober's app)."""
    return key(run_id, "probe", network, "rounds")
