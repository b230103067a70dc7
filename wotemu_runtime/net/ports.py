"""The shaped ports of a service config: both the node's redirection rules and the gateway's traffic
counters are built from this one list, so what is redirected and what is counted cannot drift apart.
"""

from wotemu_runtime.contract.ports import PORTS, TRANSPORTS


def app_ports(config: dict) -> list[tuple[str, str, int]]:
    """(protocol, transport, port) for every shaped port; configured extra ports count as "other"."""
    ports = {**PORTS, **config.get("ports", {})}
    found = [(name, transport, int(ports[name])) for name in TRANSPORTS for transport in TRANSPORTS[name]]
    extra = config.get("extra_ports") or {}
    for transport in ("tcp", "udp"):
        found += [("other", transport, int(port)) for port in extra.get(transport, [])]
    return found
