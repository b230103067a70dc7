"""Each replica's own access link through the real gateway's userspace shaper, in the netns lab.

The gateway resolves `tasks.<service>` for each linked node (the lab's hosts file stands in for
Swarm's DNS), then shapes a packet by its sender's uplink, the network, and its receiver's
downlink. Judged as the fidelity tests judge the network's own conditions (same tolerances).
"""

import statistics
import subprocess

from tests.net.test_fidelity import RATE_TOLERANCE
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


def test_a_forced_netem_on_a_kernel_without_it_stops_the_gateway_with_a_clear_message(lab):
    code, err = lab.gateway_exit({**lab.gateway_config({}), "shaper": "netem"})
    assert code == 1
    assert "`shaper: netem` is forced but this kernel has no sch_netem" in err, err
