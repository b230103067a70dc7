"""The fidelity probe: its echo and pacing on the loopback, and how a round is judged."""

import gzip
import json
import random
import threading
from datetime import UTC, datetime

import pytest

from wotemu_runtime.contract.conditions import DEFAULTS, one_way_loss
from wotemu_runtime.control.probes import (
    background,
    expected_one_way,
    judge,
    median_interval,
    wilson,
)
from wotemu_runtime.control.runinfo import probes
from wotemu_runtime.net.probe import PACKET_BYTES, Responder, interval_s, measure


def _round(rtts: list[float], sent: int | None = None) -> dict:
    sent = len(rtts) if sent is None else sent
    return {"network": "lan", "round": 1, "t": 0.0, "peer": "b", "sent": sent, "received": len(rtts),
            "bytes_sent": sent * PACKET_BYTES, "packet_bytes": PACKET_BYTES, "interval_s": 0.01,
            "rtt_ms": rtts}  # fmt: skip


def _verdicts(rows: list[dict]) -> dict:
    return {row["parameter"]: row["pass"] for row in rows}


def test_echoes_come_back_paced_and_bounded():
    responder = Responder()
    try:
        sent, rtts = measure("127.0.0.1", "127.0.0.1", 20, 0.01, threading.Event())
    finally:
        responder.close()
    assert sent == 20 and len(rtts) == 20
    assert all(0 < rtt < 50 for rtt in rtts)


def test_pacing_keeps_under_two_percent_of_the_rate():
    assert interval_s(None) == 0.01
    assert interval_s(50_000) == 2 * PACKET_BYTES * 8 / (0.02 * 50_000)  # GPRS: ~1 request a second


def test_a_round_at_the_configured_delay_passes_and_one_off_by_a_millisecond_misses():
    conditions = {**DEFAULTS, "delay_ms": 10.0}
    assert _verdicts(judge(_round([20.1] * 50), conditions)) == {"delay_ms": True, "loss_pct": True}
    assert _verdicts(judge(_round([22.2] * 50), conditions))["delay_ms"] is False
    assert _verdicts(judge(_round([0.2] * 50), conditions))["delay_ms"] is False  # shaping gone


def test_loss_is_judged_over_two_crossings():
    conditions = {**DEFAULTS, "loss": {"model": "random", "pct": 10.0, "correlation_pct": 0.0}}
    # 19 % of round trips lost is 10 % per crossing.
    assert _verdicts(judge(_round([1.0] * 81, sent=100), conditions))["loss_pct"] is True
    assert _verdicts(judge(_round([1.0] * 100, sent=100), conditions))["loss_pct"] is False
    assert (
        one_way_loss({"loss": {"model": "gemodel", "p_pct": 1, "r_pct": 9, "h_pct": 0, "k_pct": 100}}) == 0.1
    )


def test_the_target_is_netems_median_for_the_probes_train():
    # With a rate, netem queues each packet behind the one before: jitter holds up the next ones.
    lte = {**DEFAULTS, "delay_ms": 40.0, "jitter_ms": 10.0, "rate_bps": 15_000_000}
    assert 44 < expected_one_way(lte, PACKET_BYTES, 0.01) < 47
    assert expected_one_way({**lte, "rate_bps": None}, PACKET_BYTES, 0.01) == pytest.approx(40, abs=0.3)
    (delay, *_) = judge(_round([2 * 45.2] * 50), lte)
    assert delay["pass"] is True and delay["configured"] == 40.0


def test_intervals():
    independent = list(range(100))
    random.Random(3).shuffle(independent)
    assert median_interval(independent) == (40, 59)  # n/2 ∓ 1.96 √n / 2 of 100 independent samples
    # The same values in runs, as a FIFO releases them: far fewer independent samples, a wider interval.
    runs = [v for start in range(0, 100, 10) for v in sorted(independent[start : start + 10])]
    low, high = median_interval(runs)
    assert low < 40 and high > 59
    low, high = wilson(0, 100)
    assert low == 0 and 0.03 < high < 0.04


def test_the_apps_traffic_raises_the_target_as_netem_would():
    """With a rate, netem queues every packet behind the last: the apps' packets hold the probe's up."""
    lte = {**DEFAULTS, "delay_ms": 40.0, "jitter_ms": 10.0, "distribution": "normal", "rate_bps": 15_000_000}
    alone = expected_one_way(lte, PACKET_BYTES, 0.01)
    beside = expected_one_way(lte, PACKET_BYTES, 0.01, background_pps=60, background_bytes=100)
    assert beside > alone + 0.5
    counters = [  # the gateway's cumulative counts, sampled every 5 s; the probe's own are not the apps'
        {"network": "cell", "task": "gw.1", "protocol": "http", "direction": "request", "t": 5.0,
         "packets": 100, "bytes": 10_000},
        {"network": "cell", "task": "gw.1", "protocol": "http", "direction": "request", "t": 10.0,
         "packets": 250, "bytes": 25_000},
        {"network": "cell", "task": "gw.1", "protocol": "probe", "direction": "request", "t": 10.0,
         "packets": 999, "bytes": 60_000},
        {"network": "lan", "task": "gw.2", "protocol": "http", "direction": "request", "t": 10.0,
         "packets": 999, "bytes": 99_900},
    ]  # fmt: skip
    assert background(counters, "cell", 7.0) == (30.0, 100)
    assert background(counters, "cell", 12.0) == (0.0, 0)  # no sample after: nothing to say


def test_a_round_the_stop_cut_short_is_left_out(tmp_path):
    """After the run's end the stop takes the peers away: echoes lost then are no network's loss."""
    end = datetime(2026, 1, 1, 12, 0, 30)  # naive UTC, as run.json gives it
    rounds = [
        {**_round([20.0] * 50), "t": end.replace(tzinfo=UTC).timestamp() + offset} for offset in (-10, -0.2)
    ]
    with gzip.open(tmp_path / "probes.jsonl.gz", "wt") as out:
        out.writelines(json.dumps(r) + "\n" for r in rounds)
    model = {
        "services": [
            {"role": "gateway", "config": {"network": "lan", "netem": {**DEFAULTS, "delay_ms": 10.0}}}
        ]
    }
    rows = probes(tmp_path, model, end.isoformat())
    assert {row["t"] for row in rows} == {rounds[0]["t"]}  # the second ends 0.3 s after the run
