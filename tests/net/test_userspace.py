"""The userspace shaper (NFQUEUE) on the host kernel, measured through the real gateway.

One lab, the fidelity plan run once (about 90 s). Tolerances, per measurement:
* delay: median RTT above the baseline within 5 % of 2 x delay, or 0.5 ms. The benchmark's goal
  is 3 %; the test allows for a loaded 2-core CI machine, where a late wake-up of the shaper's
  thread adds ~0.1-0.3 ms per crossing.
* jitter: one-way deviation within 15 % of the configured 10 ms (500 samples: the sampling error of
  a deviation alone is ~3 %).
* loss: survivors inside the binomial 99 % interval (the shaper's RNG is seeded: reproducible).
* rate: goodput within 5 % of the L2-accounted target (the goal, 1 pp, is the benchmark's).
* duplicate inside its binomial 99 % interval; reorder visible.
"""

import pytest

from wotemu_runtime.net.fidelity import evaluate, plan
from wotemu_runtime.net.lab import run_plan


@pytest.fixture(scope="module")
def measured(lab):
    results = run_plan(lab, plan())
    return {(r["param"], r["target"]): r for r in evaluate("userspace", results)}, lab.records("info")


def test_the_host_kernel_runs_the_userspace_backend(measured):
    _, infos = measured
    assert {info["backend"] for info in infos} == {"userspace"}
    assert all(info["probe"] == "this kernel has no sch_netem" for info in infos)


@pytest.mark.parametrize("delay", [5, 40, 300])
def test_delay(measured, delay):
    record = measured[0]["delay", delay]
    error_ms = abs(record["measured"] - delay) * 2
    assert error_ms <= max(0.05 * 2 * delay, 0.5), record
    assert record["lost"] == 0


def test_jitter(measured):
    record = measured[0]["jitter", 10]
    assert abs(record["measured"] - 10) <= 1.5, record


@pytest.mark.parametrize("loss", [1, 10])
def test_loss(measured, loss):
    assert measured[0]["loss", loss]["within_goal"], measured[0]["loss", loss]


@pytest.mark.parametrize("rate", [0.1, 1, 10])
def test_rate(measured, rate):
    record = measured[0]["rate", rate]
    assert abs(record["goodput_ratio"] - 1) <= 0.05, record


def test_duplicate_and_reorder_are_visible(measured):
    assert measured[0]["duplicate", 5]["within_goal"], measured[0]["duplicate", 5]
    assert measured[0]["reorder", 25]["measured"] > 5, measured[0]["reorder", 25]
