"""A node's stop fits in Swarm's grace period, and what it could not store is said, counted, last."""

import json
import signal
import time
from pathlib import Path

from wotemu_runtime.contract.records import UNSTORED_MARK

APPS = Path(__file__).parent / "apps"
GRACE_PERIOD_S = 30.0  # the stack's stop_grace_period


def test_a_stubborn_app_with_redis_gone_still_stops_in_time_and_counts_what_it_lost(nodes, redis_server):
    node = nodes.start(nodes.config("stubborn", {"path": str(APPS / "stubborn.py"), "protocols": ["http"]}))
    nodes.wait_for(lambda records: any(r.get("metric") == "tick" for r in records), "app")
    redis_server.kill()
    try:
        time.sleep(1.0)  # ticks pile up in the writer's buffer
        started = time.monotonic()
        node.send_signal(signal.SIGTERM)
        node.wait(GRACE_PERIOD_S + 10)
        took = time.monotonic() - started
    finally:
        redis_server.start()
    assert took < GRACE_PERIOD_S, f"stopping took {took:.1f} s"
    lines = [line for line in nodes.output(node).splitlines() if UNSTORED_MARK in line]
    assert lines, nodes.output(node)[-2000:]
    unstored = json.loads(lines[-1].split(UNSTORED_MARK, 1)[1])
    assert unstored["app"] >= 10 and unstored["lifecycle"] >= 1  # the ticks, and its exit record
