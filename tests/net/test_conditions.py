"""The canonical conditions and netem's packet model (pure Python: no kernel needed)."""

import itertools

import pytest
from pydantic import ValidationError

from wotemu_runtime.contract.conditions import Conditions
from wotemu_runtime.net.distributions import load_table
from wotemu_runtime.net.packet_model import PacketModel
from wotemu_testbench.probe import binomial_interval

N = 20_000


def model(**netem) -> PacketModel:
    conditions = Conditions.model_validate(netem).model_dump()
    return PacketModel(conditions, seed=7, table=load_table(conditions["distribution"]))


@pytest.mark.parametrize(
    ("netem", "message"),
    [
        ({"delay_ms": -1}, "delay_ms\n  Input should be greater than or equal to 0"),
        ({"distribution": "gauss"}, "distribution\n  Input should be 'normal', 'pareto', 'paretonormal' or"),
        (
            {"loss": {"model": "random", "pct": 150, "correlation_pct": 0}},
            "loss.random.pct\n  Input should be less",
        ),
        ({"loss": {"model": "gemodel", "p_pct": 1}}, "loss.gemodel.r_pct\n  Field required"),
        ({"delay": 5}, "delay\n  Extra inputs are not permitted"),
        ({"delay_ms": "5"}, "delay_ms\n  Input should be a valid number"),
        ({"rate_bps": True}, "rate_bps\n  Input should be a valid integer"),
    ],
)
def test_malformed_conditions_are_named(netem, message):
    with pytest.raises(ValidationError) as raised:
        Conditions.model_validate(netem)
    assert message in str(raised.value)


def test_random_loss_matches_its_probability():
    m = model(loss={"model": "random", "pct": 10, "correlation_pct": 0})
    lost = sum(not m.schedule(0, 100, 0) for _ in range(N))
    lo, hi = binomial_interval(N, 0.10)
    assert lo <= lost <= hi


def test_gilbert_elliott_loss_is_bursty_at_its_stationary_rate():
    # p=5 %, r=20 %, loss 100 % in bad (h=0), none in good (k=100): stationary loss p/(p+r) = 20 %.
    m = model(loss={"model": "gemodel", "p_pct": 5, "r_pct": 20, "h_pct": 0, "k_pct": 100})
    outcomes = [not m.schedule(0, 100, 0) for _ in range(N)]
    assert 0.18 < sum(outcomes) / N < 0.22
    bursts = sum(1 for a, b in itertools.pairwise(outcomes) if a and not b)
    assert sum(outcomes) / bursts > 3  # mean burst 1/r = 5 packets, unlike random loss's ~1.25


def test_normal_jitter_has_its_deviation_and_rate_serialises_packets():
    m = model(delay_ms=40, jitter_ms=10, distribution="normal")
    delays = [m.schedule(0, 100, 0)[0] / 1e6 for _ in range(N)]
    mean = sum(delays) / N
    stdev = (sum((d - mean) ** 2 for d in delays) / N) ** 0.5
    assert abs(mean - 40) < 0.5 and abs(stdev - 10) < 0.5
    m = model(rate_bps=1_000_000)
    sends = [m.schedule(0, 1486, 0)[0] for _ in range(3)]  # 1500 bytes on the wire: 12 ms each
    assert sends == [12_000_000, 24_000_000, 36_000_000]


def test_limit_drops_and_duplicate_and_reorder_decisions():
    assert model(limit_packets=5).schedule(0, 100, queued=5) == []
    m = model(duplicate_pct=50)
    copies = [len(m.schedule(0, 100, 0)) for _ in range(N)]
    assert 0.48 < copies.count(2) / N < 0.52
    m = model(delay_ms=10, reorder_pct=25)
    immediate = sum(m.schedule(5, 100, 0) == [5] for _ in range(N))
    assert 0.23 < immediate / N < 0.27


def test_same_seed_same_decisions():
    a, b = (model(loss={"model": "random", "pct": 30, "correlation_pct": 25}) for _ in range(2))
    assert [a.schedule(0, 100, 0) for _ in range(500)] == [b.schedule(0, 100, 0) for _ in range(500)]
