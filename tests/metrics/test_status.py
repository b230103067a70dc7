"""`wotemu status --until-ready`: the readiness wait inside the store, against a real redis-server."""

import threading
import time

from wotemu_runtime.contract import keys
from wotemu_runtime.control.status import run_status, wait_until_ready
from wotemu_runtime.metrics import store


def test_the_wait_ends_as_soon_as_the_last_node_is_ready(config):
    client = store.connect(config)
    client.set(keys.gateway(config["run_id"], "cell"), '{"backend": "userspace"}')
    client.set(keys.ready(config["run_id"], "reader", "s_reader.1.a"), "{}")
    late = threading.Timer(1.0, client.set, (keys.ready(config["run_id"], "reader", "s_reader.2.b"), "{}"))
    started = time.monotonic()
    late.start()
    wait_until_ready(config, gateways=1, nodes=2, within=20)
    waited = time.monotonic() - started
    assert 1.0 <= waited < 1.5, waited
    assert run_status(config)["nodes_ready"] == 2


def test_the_wait_gives_up_after_its_interval_when_readiness_is_not_reached(config):
    started = time.monotonic()
    wait_until_ready(config, gateways=1, nodes=1, within=1.0)
    assert 1.0 <= time.monotonic() - started < 1.5
    assert run_status(config)["nodes_ready"] == 0


def test_the_wait_outlasts_a_store_that_is_not_up_yet(config, redis_server):
    redis_server.stop()
    started = time.monotonic()
    wait_until_ready(config, gateways=1, nodes=1, within=1.0)
    assert time.monotonic() - started >= 1.0
