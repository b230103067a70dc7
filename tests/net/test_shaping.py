"""The shaping interface (net/shaping.py) as the gateway uses it, on the userspace backend."""

from tests.net.conftest import require_lab
from wotemu_runtime.contract.conditions import Conditions
from wotemu_runtime.net.links import Interface
from wotemu_runtime.net.userspace import UserspaceShaper
from wotemu_testbench.lab import GATEWAY_STOP_S
from wotemu_testbench.services import stop


def test_update_swaps_the_model_and_what_cannot_be_honoured():
    require_lab()  # NetfilterQueue's library
    shaper = UserspaceShaper(Interface(name="eth9", index=9, address="10.9.0.2"), seed=7)
    shaper.update(Conditions(delay_ms=40.0).model_dump())
    assert shaper.model.latency_ns == 40_000_000 and shaper.unhonoured == []
    shaper.update(Conditions(delay_ms=5.0, corrupt_pct=1.0).model_dump())
    assert shaper.model.latency_ns == 5_000_000 and shaper.unhonoured == ["corrupt_pct"]
    assert shaper.counters() == {"packets": 0, "bytes": 0, "dropped": 0, "queued": 0}


def test_the_gateway_records_what_its_shaper_let_out_and_dropped(lab):
    loss = {"model": "random", "pct": 30.0, "correlation_pct": 0.0}
    with lab.gateway({"loss": loss}) as gateway:
        result = lab.rtt(200, 0.005, size=100)
        stop(gateway, GATEWAY_STOP_S)
    shaping = lab.records("shaping")[-1]  # the gateway's last word: its totals at the stop
    assert shaping["network"] == "lab" and shaping["backend"] == "userspace"
    # Each probe crosses the gateway twice (request, echo); lost ones are dropped there.
    assert shaping["dropped"] > 0 and shaping["packets"] >= 2 * result["received"], (shaping, result)
    assert shaping["packets"] + shaping["dropped"] >= 200 + result["received"], (shaping, result)
    assert shaping["bytes"] == 128 * shaping["packets"], shaping  # IP 20 + UDP 8 + 100, per packet


def test_the_gateway_records_what_its_shaper_holds(lab):
    # 1 s of delay and a probe every 20 ms for 6 s: about 100 packets held at the 5 s sample.
    with lab.gateway({"delay_ms": 1000.0}) as gateway:
        lab.rtt(300, 0.02, tail_s=2.5)
        stop(gateway, GATEWAY_STOP_S)
    queued = [r["queued"] for r in lab.records("shaping")[-3:]]  # its samples at 5 s, 10 s and the stop
    assert max(queued) >= 50, queued


def test_an_access_links_corrupt_is_reported_unhonoured_too():
    require_lab()  # NetfilterQueue's library
    link = {"node": "a", "service": "s_a", "up": Conditions(corrupt_pct=1.0).model_dump(),
            "down": Conditions().model_dump()}  # fmt: skip
    shaper = UserspaceShaper(Interface(name="eth9", index=9, address="10.9.0.2"), seed=7, links=[link])
    shaper.update(Conditions().model_dump())
    assert shaper.unhonoured == ["corrupt_pct"]
