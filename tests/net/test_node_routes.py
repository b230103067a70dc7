"""A real node on a network (the runner, not the lab's stand-in): a forked child installs its routes
while the node's writer already runs, the app starts only after, its traffic crosses the gateway,
and the node removes its routes when stopped."""

import subprocess
import sys
import time

from pyroute2 import IPRoute

from wotemu_runtime.net.redirect import FWMARK, TABLE
from wotemu_testbench.lab import ADDRESSES, GATEWAY_STOP_S, NETWORK, SUBNET
from wotemu_testbench.services import stop


def _node_config(lab) -> dict:
    # The built-in reader polls a catalogue nobody serves on B: app traffic, refused, retried every 2 s.
    params = {"servient_host": ADDRESSES["b"], "thing_id": "urn:nowhere", "interval": 1.0}
    return {
        **lab.common,
        "service": "node_a",
        "hostname": ADDRESSES["a"],
        "app": {"builtin": "reader", "params": params, "protocols": []},
        "networks": [{"name": NETWORK, "subnet": SUBNET, "gateway": f"gw_{NETWORK}", "alias": "node_a.lab"}],
        "probes": None,
    }


def _policy_rules(lab) -> list:
    with IPRoute(netns=lab.ns["a"]) as ipr:
        return [rule for rule in ipr.get_rules(family=2) if rule.get_attr("FRA_FWMARK") == FWMARK]


def _events(lab) -> dict[str, float]:
    return {r["event"]: r["t"] for r in lab.records("lifecycle") if r["service"] == "node_a"}


def test_a_node_routes_through_the_gateway_before_its_app_starts(lab):
    gateway = lab.start_gateway({})
    node = lab.spawn(
        "a",
        [
            sys.executable,
            "-m",
            "wotemu_runtime",
            "node",
            "--config",
            lab.config_file("node_a", _node_config(lab)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while "ready" not in _events(lab):
            assert node.poll() is None, f"the node exited with {node.returncode}"
            assert time.monotonic() < deadline, f"the node was not ready within 60 s: {_events(lab)}"
            time.sleep(0.2)
        events = _events(lab)
        assert events["start"] <= events["gateways"] <= events["routed"] <= events["ready"], events
        assert len(_policy_rules(lab)) == 1
        with IPRoute(netns=lab.ns["a"]) as ipr:
            (route,) = ipr.get_routes(family=2, table=TABLE)
        assert route.get_attr("RTA_GATEWAY") == ADDRESSES["g"]
        time.sleep(3)  # a few of the reader's catalogue requests
    finally:
        code = stop(node)
        stop(gateway, GATEWAY_STOP_S)  # its last record holds the final counts
    assert code == 0
    assert _policy_rules(lab) == []  # removed by the node as it stopped
    packets = {key: packets for key, (packets, _) in lab.traffic().items()}
    assert packets.get(("catalogue", "request"), 0) > 0, packets
