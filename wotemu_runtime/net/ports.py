"""Which transport ports belong to which application protocol (design §8.1 `ports`, `extra_ports`).

Both the node's redirection rules and the gateway's traffic counters are built from this one list,
so what is redirected and what is counted cannot drift apart.
"""

DEFAULT_PORTS = {"catalogue": 9090, "http": 80, "ws": 81, "coap": 5683, "mqtt": 1883}

# CoAP runs over UDP (RFC 7252) and TCP (RFC 8323); the others are TCP only.
_TRANSPORTS = {
    "http": ("tcp",),
    "ws": ("tcp",),
    "coap": ("udp", "tcp"),
    "mqtt": ("tcp",),
    "catalogue": ("tcp",),
}


def app_ports(config: dict) -> list[tuple[str, str, int]]:
    """(protocol, transport, port) for every shaped port; configured extra ports count as "other"."""
    ports = {**DEFAULT_PORTS, **config.get("ports", {})}
    found = [(name, transport, int(ports[name])) for name in _TRANSPORTS for transport in _TRANSPORTS[name]]
    extra = config.get("extra_ports") or {}
    for transport in ("tcp", "udp"):
        found += [("other", transport, int(port)) for port in extra.get(transport, [])]
    return found
