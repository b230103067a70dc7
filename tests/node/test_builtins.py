"""Each built-in app against a peer, through the real runner."""

CLOCK = "urn:wotemu:clock"
WORKER = "urn:wotemu:worker"


def _peer(config: dict) -> str:
    return f"127.0.0.1:{config['ports']['catalogue']}"


def test_clock_reader_and_subscriber_over_coap(nodes):
    # The clock serves HTTP and CoAP only, so the subscriber observes over CoAP: without the
    # observe fix, each notification would be replayed endlessly (tens of thousands of events).
    clock = nodes.config(
        "clock", {"builtin": "clock", "params": {"interval": 0.3}, "protocols": ["http", "coap"]}
    )
    reader = nodes.config(
        "reader",
        {
            "builtin": "reader",
            "protocols": [],
            "params": {"servient_host": _peer(clock), "thing_id": CLOCK, "interval": 0.2},
        },
    )
    subscriber = nodes.config(
        "subscriber",
        {
            "builtin": "subscriber",
            "protocols": [],
            "params": {"servient_host": _peer(clock), "thing_id": CLOCK},
        },
    )
    for config in (clock, reader, subscriber):
        nodes.start(config)

    def received(records, name):
        return [
            r for r in records if r["service"] == "subscriber" and r["event"] == "next" and r["name"] == name
        ]

    events = nodes.wait_for(
        lambda rs: all(len(received(rs, n)) >= 3 for n in ("timeEvent", "dateEvent", "time")),
        "events",
        timeout=40,
    )
    emitted = [r for r in events if r["service"] == "clock" and r["event"] == "emit"]
    for name in ("timeEvent", "dateEvent"):
        got = received(events, name)
        assert {r["protocol"] for r in got} == {"coap"}
        assert {r["verb"] for r in got} == {"subscribeevent"}
        # No flood: at most what the clock emitted (the records may trail by a flush period).
        assert len(got) <= len([r for r in emitted if r["name"] == name]) + 2
    assert {r["verb"] for r in received(events, "time")} == {"observeproperty"}
    subscribed = [r for r in events if r["service"] == "subscriber" and r["event"] == "subscribe"]
    assert {r["name"] for r in subscribed} == {"time", "timeEvent", "dateEvent"}

    reads = nodes.wait_for(lambda rs: sum(r["service"] == "reader" for r in rs) >= 3, "interactions")
    reads = [r for r in reads if r["service"] == "reader"]
    assert all(r["ok"] and r["name"] == "time" and r["thing_id"] == CLOCK for r in reads), reads


def test_caller_invokes_the_worker(nodes):
    worker = nodes.config("worker", {"builtin": "worker", "protocols": ["http", "ws"]})
    work = {"total": 0.05, "step": 0.01, "sleep": 0.001, "return": 7}
    caller = nodes.config(
        "caller",
        {
            "builtin": "caller",
            "protocols": [],
            "params": {
                "servient_host": _peer(worker),
                "thing_id": WORKER,
                "params": {"doWork": work},
                "lambd": 20.0,
                "timeout": 10.0,
            },
        },
    )
    nodes.start(worker)
    nodes.start(caller)

    def invocations(records, side):
        return [r for r in records if r["side"] == side and r["verb"] == "invokeaction"]

    records = nodes.wait_for(
        lambda rs: len(invocations(rs, "consumer")) >= 3 and len(invocations(rs, "producer")) >= 3,
        "interactions",
    )
    called = invocations(records, "consumer")
    assert all(r["ok"] and r["name"] == "doWork" and r["protocol"] == "http" for r in called), called
    # The worker burns 50 ms of CPU per call: the latency must include it.
    assert min(r["latency_s"] for r in called) >= 0.05
    served = invocations(records, "producer")
    assert all(r["ok"] and r["thing_id"] == WORKER and r["latency_s"] >= 0.05 for r in served), served


def test_error_app_exits_non_zero_with_its_traceback_recorded(nodes):
    process = nodes.start(
        nodes.config("failing", {"builtin": "error", "params": {"mean_time": 0.2}, "protocols": []})
    )
    assert process.wait(30) == 1, nodes.output(process)
    lifecycle = nodes.wait_for(lambda rs: any(r["event"] == "exit" for r in rs), "lifecycle")
    assert [r["event"] for r in lifecycle] == ["start", "ready", "error", "exit"]
    error = lifecycle[2]
    assert "Traceback" in error["detail"] and "DeliberateError" in error["detail"]
    assert lifecycle[3]["detail"] == "exit code 1"
