"""A server and a reader through the real runner, over HTTP, WS, CoAP and MQTT (real mosquitto).

The latency bound is the proof that the recorded latency is the network and the peer, not
wotpy idling: untuned, a WS or MQTT read took about one second on loopback.
"""

import statistics

PROTOCOLS = ["http", "ws", "coap", "mqtt"]
READS = 10
THING = "urn:wotemu:quickstart:thing"


def test_reads_on_every_protocol_are_recorded_with_loopback_latency(nodes, mosquitto):
    broker = {"host": "127.0.0.1", "port": mosquitto.port}
    server = nodes.config(
        "server",
        {
            "path": "apps/quickstart_server.py",
            "params": {"interval": 0.5},
            "protocols": ["http", "ws", "coap", "mqtt"],
        },
        broker=broker,
    )
    reader = nodes.config(
        "reader",
        {
            "path": "tests/node/apps/protocol_reader.py",
            "protocols": [],
            "params": {
                "servient_host": f"127.0.0.1:{server['ports']['catalogue']}",
                "thing_id": THING,
                "prop": "temperature",
                "protocols": PROTOCOLS,
                "reads": READS,
            },
        },
    )
    nodes.start(server)
    nodes.start(reader)

    def consumer_reads(records):
        return [r for r in records if r["side"] == "consumer" and r["service"] == "reader"]

    records = consumer_reads(
        nodes.wait_for(
            lambda rs: len(consumer_reads(rs)) >= READS * len(PROTOCOLS), "interactions", timeout=60
        )
    )
    for protocol in PROTOCOLS:
        reads = [r for r in records if r["protocol"] == protocol]
        assert len(reads) == READS, protocol
        assert all(r["ok"] and r["verb"] == "readproperty" and r["thing_id"] == THING for r in reads), reads
        median = statistics.median(r["latency_s"] for r in reads)
        slowest = max(r["latency_s"] for r in reads)
        print(f"{protocol}: median {median * 1000:.1f} ms, max {slowest * 1000:.1f} ms")
        assert 0 < median < 0.050, f"{protocol}: median read latency {median * 1000:.1f} ms on loopback"
    # The server's writer sends in batches: its records may trail the reader's by a flush period.
    served = [
        r
        for r in nodes.wait_for(
            lambda rs: sum(r["side"] == "producer" for r in rs) >= READS * len(PROTOCOLS), "interactions"
        )
        if r["side"] == "producer"
    ]
    assert {r["protocol"] for r in served} == {None}
