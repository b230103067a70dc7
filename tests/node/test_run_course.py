"""How a node's calls follow the run: through the broker name it can reach, and not past the end.

Real node processes against a real Redis and a real mosquitto.
"""

import json
import time

from wotemu_runtime.control.window import read_window, write_window
from wotemu_runtime.node.window import POLL_S
from wotemu_testbench.services import Mosquitto

CLOCK = "urn:wotemu:clock"


def _clock(nodes, mosquitto) -> dict:
    # The clock's MQTT forms name the broker as it reaches it: 127.0.0.1.
    return nodes.config(
        "clock",
        {"builtin": "clock", "params": {"interval": 0.3}, "protocols": ["http", "mqtt"]},
        broker={"host": "127.0.0.1", "port": mosquitto.port},
    )


def _reader(nodes, clock: dict, service: str, **extra) -> dict:
    return nodes.config(
        service,
        {
            "builtin": "reader",
            "protocols": [],
            "params": {
                "servient_host": f"127.0.0.1:{clock['ports']['catalogue']}",
                "thing_id": CLOCK,
                "interval": 0.2,
            },
        },
        **extra,
    )


def _reads(records, service):
    return [r for r in records if r["service"] == service and r["side"] == "consumer"]


def test_mqtt_reads_go_to_the_broker_name_the_node_config_maps_the_forms_host_to(nodes, mosquitto):
    clock = _clock(nodes, mosquitto)
    mapped = _reader(nodes, clock, "mapped", broker_hosts={"127.0.0.1": "localhost"})
    misrouted = _reader(nodes, clock, "misrouted", broker_hosts={"127.0.0.1": "broker.invalid"})
    for config in (clock, mapped, misrouted):
        nodes.start(config)
    records = nodes.wait_for(
        lambda rs: len(_reads(rs, "mapped")) >= 5 and len(_reads(rs, "misrouted")) >= 3, "interactions", 120
    )
    assert all(r["ok"] and r["protocol"] == "mqtt" for r in _reads(records, "mapped"))
    # Had the forms' host been used verbatim, these would have reached the broker too.
    misrouted_reads = _reads(records, "misrouted")
    assert all(not r["ok"] and r["protocol"] == "mqtt" for r in misrouted_reads), misrouted_reads
    assert "Name or service not known" in misrouted_reads[0]["error"], misrouted_reads[0]["error"]


def test_no_call_starts_after_the_runs_end(nodes, mosquitto, redis_server):
    clock = _clock(nodes, mosquitto)
    reader = _reader(nodes, clock, "reader")
    nodes.start(clock)
    nodes.start(reader)
    nodes.wait_for(lambda rs: len(_reads(rs, "reader")) >= 3, "interactions", 60)
    ends = time.time() + 2.0
    window = json.dumps({"started": time.time(), "ends": ends})
    redis_server.client().set(f"wotemu:{nodes.run_id}:window", window)
    time.sleep(5.0)  # long past the end: two dozen reads had the reader gone on
    reads = _reads(nodes.records("interactions"), "reader")
    assert any(r["t"] - r["latency_s"] > ends - 2.0 for r in reads)  # it read until close to the end
    assert max(r["t"] - r["latency_s"] for r in reads) <= ends
    assert all(r["ok"] for r in reads)


def test_a_subscription_whose_broker_goes_away_fails_with_session_not_initialized(nodes, tmp_path):
    """Why mishmash's subscriber once logged `AMQTTError: Session is not initialized.`: not its
    start-up but the old stop, which took the broker down under live subscriptions (amqtt drops
    the session when the connection is lost, and the waiting delivery fails so). The stop now
    scales the subscriber down before the broker."""
    broker = Mosquitto(tmp_path)
    try:
        clock = _clock(nodes, broker)
        subscriber = nodes.config(
            "subscriber",
            {
                "builtin": "subscriber",
                "protocols": [],
                "params": {"servient_host": f"127.0.0.1:{clock['ports']['catalogue']}", "thing_id": CLOCK},
            },
        )
        nodes.start(clock)
        nodes.start(subscriber)

        def received(records):
            return [r for r in records if r["service"] == "subscriber" and r["event"] == "next"]

        events = nodes.wait_for(lambda rs: len(received(rs)) >= 5, "events", 40)
        assert not [r for r in events if r["event"] == "error"]  # none while the broker is there
    finally:
        broker.stop()
    errors = nodes.wait_for(
        lambda rs: any(r["event"] == "error" for r in rs if r["service"] == "subscriber"), "events", 20
    )
    first = next(r for r in errors if r["event"] == "error")
    assert first["protocol"] == "mqtt" and first["error"] == "AMQTTError: Session is not initialized."


def test_a_manual_run_goes_on_until_the_stop_gives_it_an_end(nodes, mosquitto):
    clock = _clock(nodes, mosquitto)
    reader = _reader(nodes, clock, "manual-reader")
    nodes.start(clock)
    nodes.start(reader)
    started = time.time()
    write_window(reader, started, None)  # what the deploy phase writes for `duration: manual`
    nodes.wait_for(lambda rs: len(_reads(rs, "manual-reader")) >= 3, "interactions", 60)
    time.sleep(2.0)
    before_end = len(_reads(nodes.records("interactions"), "manual-reader"))
    ends = time.time()
    write_window(reader, None, ends)  # what the stop phase writes when it begins
    assert read_window(reader) == {"started": started, "ends": ends}
    time.sleep(3.0)
    reads = _reads(nodes.records("interactions"), "manual-reader")
    assert before_end >= 10  # it went on reading with no end in its window (a read every 0.2 s)
    # A node learns of an end written at once within one window poll; the report counts what began
    # after the end as late (report/bundle.py).
    assert max(r["t"] - r["latency_s"] for r in reads) <= ends + POLL_S
