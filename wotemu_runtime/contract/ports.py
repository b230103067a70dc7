"""Which transport ports belong to which application protocol (design §8.1 `ports`, `extra_ports`).

The stack's configs, the servient, the nodes' redirection and the gateways' traffic counters all
take their ports from here, so what is served, redirected and counted cannot drift apart.
"""

PROTOCOLS = ("http", "ws", "coap", "mqtt")  # what a node may serve; the catalogue always runs
# wotpy's Protocols enum values, by the names the topology, the records and the counters use.
WOTPY_PROTOCOLS = {"HTTP": "http", "WEBSOCKETS": "ws", "COAP": "coap", "MQTT": "mqtt"}
# "probe": the fidelity probe's UDP echo (net/probe.py), shaped like the apps' traffic and counted apart.
PORTS = {"catalogue": 9090, "http": 80, "ws": 81, "coap": 5683, "mqtt": 1883, "probe": 9099}
REDIS_PORT = 6379

# CoAP runs over UDP (RFC 7252) and TCP (RFC 8323); the others are TCP only.
TRANSPORTS = {
    "http": ("tcp",),
    "ws": ("tcp",),
    "coap": ("udp", "tcp"),
    "mqtt": ("tcp",),
    "catalogue": ("tcp",),
    "probe": ("udp",),
}
