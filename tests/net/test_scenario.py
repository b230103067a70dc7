"""A gateway (re)started in the middle of its scenario shapes with what is due now, at once."""

import time

from wotemu_runtime.contract.conditions import DEFAULTS
from wotemu_testbench.probe import summary

BASE_MS, STEPPED_MS = 2.0, 40.0


def test_a_gateway_started_mid_scenario_resumes_what_is_due(lab):
    started = time.time() - 10  # the run started 10 s ago
    lab.open_window(started, None)
    change = {key: None for key in DEFAULTS if key != "seed"} | {"delay_ms": STEPPED_MS}
    actions = [
        {"index": 0, "at_s": 5.0, "for_s": None, "every_s": None, "netem": change, "partition": []},
        {
            "index": 1,
            "at_s": 600.0,
            "for_s": None,
            "every_s": None,
            "netem": None,
            "partition": ["10.77.0.20"],
        },
    ]
    with lab.gateway({**DEFAULTS, "delay_ms": BASE_MS}, scenario=actions):
        result = lab.rtt(100, 0.01)
    # The step is in force from the first probe on: no moment at the network's own conditions (the
    # minimum), and once, not on top of itself (the median; the fidelity tests judge its precision).
    assert min(result["rtt_ms"]) >= 2 * STEPPED_MS, result["rtt_ms"][:5]
    assert summary(result["rtt_ms"])["median"] < 2 * STEPPED_MS + STEPPED_MS / 2, result["rtt_ms"]
    records = lab.records("scenario")
    assert [(r["action"], r["change"]) for r in records] == [(0, "resume")], records
    assert abs(records[0]["from_t"] - (started + 5.0)) < 0.001 and records[0]["planned_t"] > started + 10
