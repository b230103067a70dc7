"""Node redirection against real namespaces: app ports cross the gateway, Redis does not, and a
gateway that comes back with a new address is followed without restarting the nodes."""

import time

import pytest

from wotemu_runtime.metrics.store import connect
from wotemu_runtime.net.readiness import ReadinessTimeout
from wotemu_runtime.net.redirect import WATCH_PERIOD_S, start_redirection
from wotemu_testbench.lab import ADDRESSES, GATEWAY_STOP_S, Lab
from wotemu_testbench.services import stop


def _crossed(lab: Lab) -> dict:
    """Packets per (protocol, direction) the gateway counted, from its `traffic` records."""
    return {key: packets for key, (packets, _) in lab.traffic().items()}


def test_app_traffic_crosses_the_gateway_and_redis_traffic_does_not(lab):
    with lab.gateway({}) as gateway:
        # The nodes' watchers talk to Redis every WATCH_PERIOD_S; let them, with no app traffic.
        time.sleep(3 * WATCH_PERIOD_S)
        stop(gateway, GATEWAY_STOP_S)  # its last record holds the final counts
    idle = _crossed(lab)
    assert idle and not any(idle.values()), f"non-app traffic crossed the gateway: {idle}"
    with lab.gateway({}) as gateway:
        result = lab.rtt(50, 0.01)  # UDP to CoAP's port
        lab.goodput(seconds=1, warmup_s=0.2)  # TCP to HTTP's port
        stop(gateway, GATEWAY_STOP_S)
    assert result["received"] == 50
    crossed = _crossed(lab)
    assert crossed["coap", "request"] >= 50 and crossed["coap", "response"] >= 50, crossed
    assert crossed["http", "request"] > 100 and crossed["http", "response"] > 10, crossed
    assert crossed["other", "request"] == 0 and crossed["mqtt", "request"] == 0, crossed


def test_a_gateway_back_on_a_new_address_is_followed(lab):
    with lab.gateway({"delay_ms": 20}):
        assert 40 < lab.rtt(20, 0.01)["rtt_ms"][-1] < 60
    lab.move_gateway("10.77.0.3")
    try:
        moved_at = time.monotonic()
        with lab.gateway({"delay_ms": 20}):
            # Routes follow the new readiness key within the watcher's period; probe until they do.
            while not (result := lab.rtt(10, 0.05, tail_s=0.5))["received"]:
                assert time.monotonic() - moved_at < 10, "routes did not follow the gateway within 10 s"
            assert time.monotonic() - moved_at < 10
            assert 40 < min(result["rtt_ms"]) < 60  # through the new gateway, so still shaped
    finally:
        lab.move_gateway(ADDRESSES["g"])


def test_no_networks_means_nothing_to_do():
    handle = start_redirection({"run_id": "x", "networks": []}, redis_client=None)
    assert handle.gateways == {}
    handle.stop()


def test_a_missing_gateway_is_a_clear_timeout(lab):
    config = {**lab.common, "redis": {"host": "127.0.0.1", "port": 1}, "networks": []}
    config["networks"] = [{"name": "nowhere", "subnet": "127.0.0.0/8", "gateway": "gw_nowhere"}]
    with pytest.raises(ReadinessTimeout, match=r"no gateway ready within 1 s for network\(s\) nowhere"):
        start_redirection(config, connect(config), timeout=1)
