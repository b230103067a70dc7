"""Each replica's own access link through the real gateway's userspace shaper, in the netns lab.

The gateway resolves `tasks.<service>` for each linked node (the lab's hosts file stands in for
Swarm's DNS), then shapes a packet by its sender's uplink, the network, and its receiver's
downlink. Judged as the fidelity tests judge the network's own conditions (same tolerances).
"""

import statistics
import subprocess

from tests.net.test_fidelity import RATE_TOLERANCE
from wotemu_runtime.contract.conditions import DEFAULTS
from wotemu_runtime.control.probes import judge
from wotemu_runtime.net.probe import PACKET_BYTES
from wotemu_testbench.fidelity import MTU
from wotemu_testbench.lab import ADDRESSES, SINK_PORT, _probe
from wotemu_testbench.probe import l2_efficiency

UP_BPS, DOWN_BPS = 1_000_000, 3_000_000
LINK_DELAY_MS = 20.0
INDEPENDENCE = 0.02  # another replica's RTT within 2 % of its target while one saturates its uplink


def _ratio(result: dict, rate_bps: int) -> float:
    return result["goodput_bps"] / (rate_bps * l2_efficiency(result["acks"], result["segments"], MTU))


def test_each_direction_of_an_access_link_has_its_own_rate(lab):
    link = lab.access_link("a", up={"rate_bps": UP_BPS}, down={"rate_bps": DOWN_BPS})
    with lab.gateway({}, links=[link]):
        up = lab.goodput(5, 1, sender="a", receiver="b")
        down = lab.goodput(5, 1, sender="b", receiver="a")
    assert abs(_ratio(up, UP_BPS) - 1) <= RATE_TOLERANCE, up
    assert abs(_ratio(down, DOWN_BPS) - 1) <= RATE_TOLERANCE, down
    assert lab.records("shaping")[-1]["backend"] == "userspace"


def test_one_replica_saturating_its_uplink_does_not_slow_another(lab):
    with lab.gateway({}):
        base = statistics.median(lab.rtt(100, 0.01, sender="c")["rtt_ms"])
    links = [
        lab.access_link("a", up={"rate_bps": UP_BPS}),
        lab.access_link("c", up={"delay_ms": LINK_DELAY_MS}, down={"delay_ms": LINK_DELAY_MS}),
    ]
    with lab.gateway({}, links=links):
        sink = lab.spawn("b", _probe("sink", "--port", SINK_PORT, "--seconds", 8, "--warmup", 1),
                         stdout=subprocess.PIPE, text=True)  # fmt: skip
        source = lab.spawn(
            "a", _probe("source", "--host", ADDRESSES["b"], "--port", SINK_PORT, "--seconds", 60)
        )
        try:
            rtt = lab.rtt(300, 0.02, sender="c")
        finally:
            flood, _ = sink.communicate(timeout=60)
            source.wait(timeout=60)
    target = 2 * LINK_DELAY_MS
    measured = statistics.median(rtt["rtt_ms"]) - base
    assert abs(measured - target) <= INDEPENDENCE * target, (measured, base, rtt["received"])
    assert rtt["received"] == 300
    assert '"goodput_bps"' in flood  # A's flood ran alongside, on its own uplink


def test_the_probe_times_each_way_of_an_asymmetric_link_and_judges_it(lab):
    """A's uplink 30 ms, its downlink 5 ms, over a 10 ms network: the product's probe, through the
    real shaper, measures 40 ms out and 15 ms back, and its judge passes both ways (not just the
    round trip a symmetric model would also explain)."""
    up, down, network = {"delay_ms": 30.0}, {"delay_ms": 5.0}, {"delay_ms": 10.0}
    with lab.gateway(network, links=[lab.access_link("a", up=up, down=down)]):
        measured = lab.probe_round(100, 0.02)
    ways = list(zip(*measured["answers"], strict=True))
    record = {"network": "lab", "round": 1, "t": 0.0, "task": "a", "peer": "b", "sent": measured["sent"],
              "received": len(measured["answers"]), "bytes_sent": measured["sent"] * PACKET_BYTES,
              "packet_bytes": PACKET_BYTES, "interval_s": 0.02, "host": "lab", "peer_host": "lab",
              "rtt_ms": list(ways[0]), "forward_ms": list(ways[1]), "back_ms": list(ways[2])}  # fmt: skip
    link = {"up": DEFAULTS | up, "down": DEFAULTS | down}
    rows = {row["parameter"]: row for row in judge(record, DEFAULTS | network, links=(link, None))}
    verdicts = {name: row["pass"] for name, row in rows.items()}
    assert verdicts == dict.fromkeys(("delay_ms", "forward_delay_ms", "back_delay_ms", "loss_pct"), True), (
        rows
    )
    assert rows["forward_delay_ms"]["target"] == 40.0 and rows["back_delay_ms"]["target"] == 15.0


def test_a_forced_netem_on_a_kernel_without_it_stops_the_gateway_with_a_clear_message(lab):
    code, err = lab.gateway_exit({**lab.gateway_config({}), "shaper": "netem"})
    assert code == 1
    assert "`shaper: netem` is forced but this kernel has no sch_netem" in err, err
