"""The shaping interface (net/shaping.py) as the gateway uses it, on the userspace backend."""

import ast

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
    assert shaper.counters() == {"packets": 0, "dropped": 0}


def test_the_gateway_reports_what_its_shaper_passed_and_dropped(lab, tmp_path):
    log = tmp_path / "gateway.log"
    loss = {"model": "random", "pct": 30.0, "correlation_pct": 0.0}
    with open(log, "w") as err, lab.gateway({"loss": loss}, stderr=err) as gateway:
        result = lab.rtt(200, 0.005)
        stop(gateway, GATEWAY_STOP_S)
    line = next(line for line in log.read_text().splitlines() if "shaper's totals" in line)
    totals = ast.literal_eval(line.partition("totals: ")[2])
    # Each probe crosses the gateway twice (request, echo); lost ones are dropped there.
    assert totals["dropped"] > 0 and totals["packets"] >= 2 * result["received"], (totals, result)
    assert totals["packets"] + totals["dropped"] >= 200 + result["received"], (totals, result)
