"""The fidelity probe: its echo and pacing on the loopback, and how a round is judged."""

import gzip
import json
import multiprocessing
import random
import socket
import statistics
import sys
import threading
import time
from datetime import UTC, datetime

import pytest

from wotemu_runtime.contract.conditions import DEFAULTS, one_way_loss
from wotemu_runtime.contract.ports import PORTS
from wotemu_runtime.control import runinfo
from wotemu_runtime.control.probes import (
    ACROSS_A_CHANGE,
    ACROSS_A_FAULT,
    AFTER_THE_END,
    IN_A_PARTITION,
    background,
    expected_delays,
    judge,
    median_interval,
    probe_results,
    wilson,
)
from wotemu_runtime.control.runinfo import probes
from wotemu_runtime.net.probe import PACKET_BYTES, Responder, interval_s, measure
from wotemu_runtime.net.timeline import Timeline


def _round(rtts: list[float], sent: int | None = None) -> dict:
    sent = len(rtts) if sent is None else sent
    return {"network": "lan", "round": 1, "t": 0.0, "task": "a.1.x", "peer": "b.1.y", "sent": sent,
            "received": len(rtts),
            "bytes_sent": sent * PACKET_BYTES, "packet_bytes": PACKET_BYTES, "interval_s": 0.01,
            "rtt_ms": rtts}  # fmt: skip


def _verdicts(rows: list[dict]) -> dict:
    return {row["parameter"]: row["pass"] for row in rows}


def test_echoes_come_back_paced_and_bounded_with_each_way_timed():
    responder = Responder()
    try:
        sent, answers = measure("127.0.0.1", "127.0.0.1", 20, 0.01, threading.Event())
    finally:
        responder.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:  # close() freed the port
        again.bind(("0.0.0.0", PORTS["probe"]))
    assert sent == 20 and len(answers) == 20
    for rtt, forward, back in answers:
        assert 0 < rtt < 50
        # One host, one wall clock: the round trip is the two ways, the peer's turnaround left out.
        assert forward >= 0 and back >= 0 and rtt == pytest.approx(forward + back, abs=1e-3)


def _busy_peer(ready) -> None:
    """A node's responder beside an app that holds the interpreter for 20 ms at a time."""
    sys.setswitchinterval(0.02)
    Responder()
    ready.set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pass


def test_a_busy_peer_does_not_lengthen_the_round_trip():
    ready = multiprocessing.get_context("fork").Event()
    peer = multiprocessing.get_context("fork").Process(target=_busy_peer, args=(ready,), daemon=True)
    peer.start()
    try:
        assert ready.wait(10)
        sent, answers = measure("127.0.0.1", "127.0.0.1", 50, 0.01, threading.Event())
    finally:
        peer.kill()
    assert sent == 50 and len(answers) == 50
    # The responder's thread waits for the interpreter about 10 ms on average before it replies;
    # across the loopback the network's round trip is a fraction of a millisecond.
    assert statistics.median(rtt for rtt, _, _ in answers) < 1.0, answers


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
    assert 44 < expected_delays(lte, PACKET_BYTES, 0.01)["delay_ms"] < 47
    assert expected_delays({**lte, "rate_bps": None}, PACKET_BYTES, 0.01)["delay_ms"] == pytest.approx(
        40, abs=0.3
    )
    (delay, *_) = judge(_round([2 * 45.2] * 50), lte)
    assert delay["pass"] is True and delay["configured"] == 40.0


# An access link whose uplink is slow and whose downlink is not (design §4): the two ways differ.
SLOW_UP = {"up": {**DEFAULTS, "delay_ms": 100.0}, "down": {**DEFAULTS, "delay_ms": 10.0}}


def _one_clock(forward: float, back: float, hosts=("h1", "h1")) -> dict:
    return {**_round([forward + back] * 50), "forward_ms": [forward] * 50, "back_ms": [back] * 50,
            "host": hosts[0], "peer_host": hosts[1]}  # fmt: skip


def test_each_way_is_judged_against_the_links_it_crossed():
    """The prober's uplink is 100 ms and its downlink 10 ms, over a 5 ms network with an unlinked
    peer: its requests take 105 ms, the echoes 15 ms. Swapped ways keep the round trip and miss."""
    net = {**DEFAULTS, "delay_ms": 5.0}
    targets = expected_delays(net, PACKET_BYTES, 0.01, links=(SLOW_UP, None))
    assert targets["forward_delay_ms"] == pytest.approx(105, abs=0.01)
    assert targets["back_delay_ms"] == pytest.approx(15, abs=0.01)
    assert targets["delay_ms"] == pytest.approx(60, abs=0.01)
    rows = judge(_one_clock(105.1, 15.1), net, links=(SLOW_UP, None))
    assert _verdicts(rows) == {
        "delay_ms": True,
        "forward_delay_ms": True,
        "back_delay_ms": True,
        "loss_pct": True,
    }
    assert {row["parameter"]: row["configured"] for row in rows if "configured" in row} == {
        "delay_ms": 60.0, "forward_delay_ms": 105.0, "back_delay_ms": 15.0}  # fmt: skip
    swapped = _verdicts(judge(_one_clock(15.1, 105.1), net, links=(SLOW_UP, None)))
    assert swapped == {"delay_ms": True, "forward_delay_ms": False, "back_delay_ms": False, "loss_pct": True}
    # The peer's link counts the other way round: its downlink is the request's, its uplink the echo's.
    assert _verdicts(judge(_one_clock(15.1, 105.1), net, links=(None, SLOW_UP)))["forward_delay_ms"] is True


def test_ways_across_two_hosts_are_not_judged():
    """Two hosts' wall clocks differ by their offset: only the round trip says something there."""
    net = {**DEFAULTS, "delay_ms": 5.0}
    rows = judge(_one_clock(105.1, 15.1, hosts=("h1", "h2")), net, links=(SLOW_UP, None))
    assert _verdicts(rows) == {"delay_ms": True, "loss_pct": True}
    assert "forward_delay_ms" not in _verdicts(judge(_round([10.0] * 50), net))  # no host recorded: the lab


def test_loss_on_the_links_counts_with_the_networks():
    lossy = {**DEFAULTS, "loss": {"model": "random", "pct": 10.0, "correlation_pct": 0.0}}
    link = {"up": lossy, "down": DEFAULTS}
    # Network and the prober's uplink each lose 10 %: a round trip is answered 0.9³ = 72.9 % of the time.
    (loss,) = [
        r
        for r in judge(_round([1.0] * 73, sent=100), lossy, links=(link, None))
        if r["parameter"] == "loss_pct"
    ]
    assert loss["pass"] is True and loss["target"] == pytest.approx(100 * (1 - 0.9**1.5), abs=0.01)
    unlinked = judge(_round([1.0] * 73, sent=100), lossy)
    assert _verdicts(unlinked)["loss_pct"] is False  # without the link, 27 % lost is too much


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
    alone = expected_delays(lte, PACKET_BYTES, 0.01)["delay_ms"]
    beside = expected_delays(lte, PACKET_BYTES, 0.01, background_pps=60, background_bytes=100)["delay_ms"]
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
    started = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    end = datetime(2026, 1, 1, 12, 0, 30)  # naive UTC, as run.json gives it
    rounds = [
        {**_round([20.0] * 50), "t": end.replace(tzinfo=UTC).timestamp() + offset} for offset in (-10, -0.2)
    ]
    with gzip.open(tmp_path / "probes.jsonl.gz", "wt") as out:
        out.writelines(json.dumps(r) + "\n" for r in rounds)
    netem = {**DEFAULTS, "delay_ms": 10.0}
    model = {
        "services": [
            {"role": "gateway", "config": {"network": "lan", "netem": netem, "scenario": [], "links": []}}
        ]
    }
    rows, left_out = probes(tmp_path, model, started.isoformat(), end.isoformat())
    assert {row["t"] for row in rows} == {rounds[0]["t"]}  # the second ends 0.3 s after the run
    assert left_out == [{"network": "lan", "round": 1, "t": rounds[1]["t"], "why": AFTER_THE_END}]


# A delay step from 10 to 60 ms at 20 s, then b cut off from 40 s to 50 s (seconds since the run's start).
STARTED, ENDED = 1_000.0, 1_100.0
STEP = {key: None for key in DEFAULTS if key != "seed"} | {"delay_ms": 60.0}
SCENARIO = [
    {"index": 0, "at_s": 20.0, "for_s": None, "every_s": None, "netem": STEP, "partition": []},
    {"index": 1, "at_s": 40.0, "for_s": 10.0, "every_s": None, "netem": None, "partition": ["b.lan"]},
]
BASE = {**DEFAULTS, "delay_ms": 10.0}


def _at(since_start: float, rtt_ms: float | None) -> dict:
    """A round of 50 probes (0.5 s) begun `since_start` s into the run; None: every probe lost."""
    return {**_round([] if rtt_ms is None else [rtt_ms] * 50, sent=50), "t": STARTED + since_start}


def test_each_round_is_judged_against_the_conditions_its_scenario_had_in_force():
    before, after, healed = _at(5, 20.0), _at(30, 120.0), _at(52, 120.0)
    rows, left_out = probe_results([after, healed, before], {"lan": Timeline(BASE, SCENARIO)}, STARTED, ENDED)
    delays = [(r["t"] - STARTED, r["target"], r["pass"]) for r in rows if r["parameter"] == "delay_ms"]
    assert [(t, round(target), ok) for t, target, ok in delays] == [
        (5, 10, True),
        (30, 60, True),
        (52, 60, True),
    ]
    assert all(r["pass"] for r in rows) and left_out == []
    # Judged against the network's initial conditions, as before the fix, the step was a false miss.
    assert _verdicts(judge(after, BASE))["delay_ms"] is False


def test_a_round_across_a_change_or_a_partition_is_left_out_and_says_why():
    rounds = {
        "across the step": _at(19.7, 20.0),  # crossed until 20.22 s
        "just after the step": _at(20.3, 120.0),  # within the margin of a late change
        "cut off": _at(45, None),  # every probe lost: the partition's, not the network's loss
        "just healed": _at(50.2, 120.0),
        "before the cut, up to its margin": _at(39.2, 120.0),
        "judged": _at(60, 120.0),
    }
    rows, left_out = probe_results(list(rounds.values()), {"lan": Timeline(BASE, SCENARIO)}, STARTED, ENDED)
    why = {round(r["t"] - STARTED, 1): r["why"] for r in left_out}
    assert why == {
        19.7: ACROSS_A_CHANGE,
        20.3: ACROSS_A_CHANGE,
        39.2: IN_A_PARTITION,
        45: IN_A_PARTITION,
        50.2: IN_A_PARTITION,
    }
    assert {r["t"] - STARTED for r in rows} == {60} and all(r["pass"] for r in rows)


def test_a_round_whose_peer_a_kill_or_a_scale_took_away_is_left_out():
    """Its peer's lost echoes are no network's loss; a kill of another task, or a scale of another
    node, leaves the round judged."""
    peer = "s_b.2.t1"
    rounds = [{**_at(since, 120.0 if since > 20 else 20.0), "peer": peer} for since in (10, 30, 60, 70)]
    faults = [
        {"kind": "kill", "service": "s_b", "killed": [peer], "applied_t": STARTED + 10.2},
        {"kind": "kill", "service": "s_b", "killed": ["s_b.1.t0"], "applied_t": STARTED + 30.2},
        {"kind": "scale", "service": "s_b", "applied_t": STARTED + 60.3},
        {"kind": "scale", "service": "s_c", "applied_t": STARTED + 70.3},
    ]
    timelines = {"lan": Timeline(BASE, SCENARIO[:1])}
    rows, left_out = probe_results(rounds, timelines, STARTED, ENDED, faults=faults)
    assert {round(r["t"] - STARTED): r["why"] for r in left_out} == {10: ACROSS_A_FAULT, 60: ACROSS_A_FAULT}
    assert {r["t"] - STARTED for r in rows} == {30, 70} and all(r["pass"] for r in rows)


def test_a_run_whose_window_never_opened_is_judged_against_its_networks_own_conditions():
    rows, left_out = probe_results([_at(30, 20.0)], {"lan": Timeline(BASE, SCENARIO)}, None, ENDED)
    assert left_out == [] and all(r["pass"] for r in rows)  # no action ran: the step never came


def test_run_json_keeps_each_networks_access_links_as_the_gateway_had_them():
    link = {"node": "sensor", "service": "s_sensor", "up": {**DEFAULTS, "delay_ms": 30.0}, "down": DEFAULTS}
    model = {"services": [
        {"role": "gateway", "config": {"network": "cell", "links": [link]}},
        {"role": "gateway", "config": {"network": "lan", "links": []}},
        {"role": "node", "config": {}},
    ]}  # fmt: skip
    assert runinfo.links(model) == {"cell": {"sensor": {"up": link["up"], "down": DEFAULTS}}}
