"""Judge the fidelity probe's rounds (net/probe.py) against the conditions each network was given.

A round measured round trips across a network: each request and its echo crossed the gateway
once, so a round trip is two crossings. Per round and parameter, run.json gets the target, the
measured value, the tolerance and whether it passed:

* delay: the median one-way delay (half the round trip) against the median the configured
  conditions give this probe's own packet train under netem's rules (`expected_delays`), within
  max(2 %, 0.5 ms) beyond the 95 % distribution-free interval of the measured median, allowing for
  the round's serial correlation (sampling error is not a miss; a wrong delay is). The configured
  delay alone is not the target: with a rate, netem queues a packet behind the one before it (a
  jittered packet holds up the next ones), a skewed distribution's median is not its delay, and
  reordered packets skip the delay.
* loss: the configured loss (Gilbert-Elliott: its stationary loss) over two crossings, against the
  95 % Wilson interval of the share of requests with no echo.
* each way's delay (`forward_delay_ms`, `back_delay_ms`), judged the same way, where prober and
  peer read one clock (one swarm node): an access link's up and down differ, and the round trip
  alone would pass a link whose two ways were swapped.
* rate: not measured by the probe (it sends 2 % of the rate at most): a row without a verdict.

Where the prober or its peer has an access link (#12), the path crosses it too: a request the
prober's uplink, the network and the peer's downlink, the echo the other way round; targets and
losses are those of the whole path.

A network with a scenario changes conditions during the run: each round is judged against what
its timeline (net/timeline.py, the function its gateway runs) had in force while the round's
packets crossed. A round across a change, or while a partition of its network was in force, had
no one state to be judged against: it is left out of the verdicts, and said so (`left_out`).
"""

import heapq
import itertools
import math
import random
import statistics

from wotemu_runtime.contract.conditions import one_way_loss
from wotemu_runtime.net.distributions import load_table
from wotemu_runtime.net.packet_model import PacketModel
from wotemu_runtime.net.timeline import Timeline, ms

Z95 = 1.96
DELAY_SHARE, DELAY_FLOOR_MS = 0.02, 0.5
SIMULATED = 2000  # requests of the simulated train: its median is steady to a few µs
# A change's instant, give or take: the timeline counts from the window's start, which the deploy
# phase reads from the clock a moment apart from run.json's `started_at`, and a gateway applies a
# change late (100 ms at most on time; a partition under UML up to 300 ms).
CHANGE_MARGIN_S = 0.5
# Why a round has no verdict (run.json's `probes_left_out`).
AFTER_THE_END = "not over by the run's end: the stop takes its peers away mid-round"
ACROSS_A_CHANGE = "across a scenario change of its network's conditions"
IN_A_PARTITION = "while a partition of its network was in force"
ACROSS_A_FAULT = "its peer was killed, or its peer's node scaled, during the round"


def wilson(failures: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of a share failures / n."""
    share = failures / n
    centre = (share + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(share * (1 - share) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _lag1(values: list[float]) -> float:
    """Lag-1 autocorrelation of a series (0 for a constant one)."""
    mean = statistics.fmean(values)
    variance = sum((v - mean) ** 2 for v in values)
    if not variance:
        return 0.0
    return sum((a - mean) * (b - mean) for a, b in itertools.pairwise(values)) / variance


def median_interval(values: list[float]) -> tuple[float, float]:
    """95 % distribution-free interval of the median: order statistics n/2 ∓ 1.96 √n / 2, for the
    n(1-r)/(1+r) independent samples a series of lag-1 autocorrelation r is worth. A round's delays
    are correlated by construction (with a rate, netem releases packets in order, so one long delay
    holds up the next ones: r ≈ 0.4 measured on LTE); taken as independent, a correct network missed."""
    ordered = sorted(values)
    n = len(ordered)
    r = min(max(_lag1(values), 0.0), 0.95) if n > 2 else 0.0
    spread = Z95 * n / (2 * math.sqrt(n * (1 - r) / (1 + r)))
    low = max(0, math.floor(n / 2 - spread))
    high = min(n - 1, math.ceil(n / 2 + spread) - 1)
    return ordered[low], ordered[high]


def _model(conditions: dict, seed: int) -> PacketModel:
    """A stage's delays alone: losses and the queue limit drop packets, they do not delay them."""
    lossless = {**conditions, "loss": None, "limit_packets": 2**31}
    return PacketModel(lossless, seed, load_table(conditions["distribution"]))


def expected_delays(
    conditions: dict,
    packet_bytes: int,
    interval_s: float,
    background_pps: float = 0.0,
    background_bytes: int = 0,
    links: tuple[dict | None, dict | None] = (None, None),
) -> dict[str, float]:
    """Median delays (ms) of a train of requests every `interval_s`, each echoed on arrival: half
    the round trip (`delay_ms`), the request's way (`forward_delay_ms`) and the echo's
    (`back_delay_ms`). Both directions cross one network model with `conditions` (a gateway shapes
    its network's traffic both ways on one queue), beside the apps' own packets (`background_pps` of
    `background_bytes`, Poisson): they share the queue, so a long delay of theirs holds up the
    probe's. `links`: the prober's and the peer's access links ({up, down} conditions, or None):
    a request crosses the prober's uplink, the network, then the peer's downlink, and its echo the
    peer's uplink, the network, the prober's downlink, each a queue of its own, in series as the
    userspace shaper has them."""
    network = _model(conditions, 0)
    prober, peer = (
        {way: _model(link[way], seed + i) for i, way in enumerate(("up", "down"))} if link else {}
        for seed, link in ((1, links[0]), (3, links[1]))
    )
    ways = {
        "request": [m for m in (prober.get("up"), network, peer.get("down")) if m],
        "echo": [m for m in (peer.get("up"), network, prober.get("down")) if m],
        "apps": [network],
    }
    step = round(interval_s * 1e9)
    # (enters its next stage, tiebreak, request number or -1 for the apps', way, stages crossed)
    events = [(i * step, i, i, "request", 0) for i in range(SIMULATED)]
    arrivals, now, order = random.Random(0), 0.0, itertools.count(SIMULATED)
    while background_pps and now < SIMULATED * step:
        now += arrivals.expovariate(background_pps) * 1e9
        events.append((round(now), next(order), -1, "apps", 0))
    heapq.heapify(events)
    reached: dict[int, int] = {}  # request number -> when it reached the peer
    forward, back = [], []
    while events:
        now, _, i, way, crossed = heapq.heappop(events)
        if crossed == len(ways[way]):  # out of its last stage
            if way == "request":
                reached[i] = now
                heapq.heappush(events, (now, next(order), i, "echo", 0))
            elif way == "echo":
                forward.append(reached[i] - i * step)
                back.append(now - reached[i])
            continue
        released = ways[way][crossed].schedule(now, packet_bytes if i >= 0 else background_bytes, 0)[0]
        heapq.heappush(events, (released, next(order), i, way, crossed + 1))
    return {
        "delay_ms": statistics.median(f + b for f, b in zip(forward, back, strict=True)) / 2e6,
        "forward_delay_ms": statistics.median(forward) / 1e6,
        "back_delay_ms": statistics.median(back) / 1e6,
    }


def background(traffic: list[dict], network: str, t: float) -> tuple[float, int]:
    """The apps' packets per second across `network` around `t`, and their mean size: from its
    gateway's cumulative counters (every protocol but the probe's), between the samples either side."""
    series: dict[tuple, list[dict]] = {}
    for record in traffic:
        if record["network"] == network and record["protocol"] != "probe":
            series.setdefault((record["task"], record["protocol"], record["direction"]), []).append(record)
    pps, packets, size = 0.0, 0, 0
    for samples in series.values():
        before = max((r for r in samples if r["t"] <= t), key=lambda r: r["t"], default=None)
        after = min((r for r in samples if r["t"] > t), key=lambda r: r["t"], default=None)
        if before and after and after["packets"] >= before["packets"]:  # no restart in between
            pps += (after["packets"] - before["packets"]) / (after["t"] - before["t"])
            packets += after["packets"] - before["packets"]
            size += after["bytes"] - before["bytes"]
    return pps, round(size / packets) if packets else 0


def one_clock(record: dict) -> bool:
    """Whether a round's per-direction delays are one-way delays: prober and peer on one swarm
    node read one wall clock. Across hosts they are off by the hosts' clock offset."""
    return (
        bool(record.get("host")) and record.get("host") == record.get("peer_host") and "forward_ms" in record
    )


def _path(conditions: dict, links: tuple[dict | None, dict | None]) -> dict[str, list[dict]]:
    """The conditions a request and its echo cross, in order (see `expected_delays`)."""
    prober, peer = (link or {} for link in links)
    return {
        "forward": [c for c in (prober.get("up"), conditions, peer.get("down")) if c],
        "back": [c for c in (peer.get("up"), conditions, prober.get("down")) if c],
    }


def _delays(record: dict, conditions: dict, apps: tuple[float, int], links) -> list[dict]:
    """Half the round trip judged; each direction too where prober and peer share a clock."""
    path = _path(conditions, links)
    configured = {way: sum(c["delay_ms"] for c in crossed) for way, crossed in path.items()}
    measured = {"delay_ms": ([rtt / 2 for rtt in record["rtt_ms"]], sum(configured.values()) / 2)}
    if one_clock(record):
        measured |= {
            "forward_delay_ms": (record["forward_ms"], configured["forward"]),
            "back_delay_ms": (record["back_ms"], configured["back"]),
        }
    try:
        targets = expected_delays(conditions, record["packet_bytes"], record["interval_s"], *apps, links)
        note = ""
    except FileNotFoundError as ex:  # iproute2's tables are not on this control machine
        targets, note = {}, f"no verdict: {ex}"
    return [
        _delay(parameter, values, targets.get(parameter), note)
        | {"configured": round(delay, 3), "background_pps": round(apps[0], 1)}
        for parameter, (values, delay) in measured.items()
    ]


def _delay(parameter: str, values: list[float], target: float | None, note: str) -> dict:
    row = {"parameter": parameter, "note": note}
    if target is not None:
        tolerance = max(DELAY_SHARE * target, DELAY_FLOOR_MS)
        row |= {"target": round(target, 3), "tolerance": round(tolerance, 3)}
    if not values:
        return {**row, "measured": None, "pass": False, "note": "no echo came back"}
    low, high = median_interval(values)
    row |= {"measured": round(statistics.median(values), 3), "interval": [round(low, 3), round(high, 3)]}
    if target is None:
        return {**row, "pass": None}
    return {**row, "pass": low - tolerance <= target <= high + tolerance}


def _loss(record: dict, conditions: dict, links) -> dict:
    sent, received = record["sent"], record["received"]
    low, high = wilson(sent - received, sent)
    # A request is answered when neither it nor its echo is lost on any stage it crosses; the
    # target is per crossing of the network, the geometric mean of the two ways.
    kept = math.prod(1 - one_way_loss(c) for crossed in _path(conditions, links).values() for c in crossed)
    round_trip, one_way = 1 - kept, 1 - math.sqrt(kept)
    return {
        "parameter": "loss_pct",
        "target": round(100 * one_way, 3),
        "measured": round(100 * (1 - math.sqrt(received / sent)), 3),
        "tolerance": "95 % interval",
        "interval": [round(100 * (1 - math.sqrt(1 - low)), 3), round(100 * (1 - math.sqrt(1 - high)), 3)],
        "pass": low <= round_trip <= high,
        "note": "",
    }


def _rate(conditions: dict) -> dict:
    return {
        "parameter": "rate_bps",
        "target": conditions["rate_bps"],
        "measured": None,
        "tolerance": "±1 pp",
        "pass": None,
        "note": "not measured: the probe sends 2 % of the rate at most",
    }


def judge(
    record: dict,
    conditions: dict,
    apps: tuple[float, int] = (0.0, 0),
    links: tuple[dict | None, dict | None] = (None, None),
) -> list[dict]:
    """The rows of one round: delay (and each direction's, on one clock) and loss judged, the rate
    named when one is configured. `apps`: the apps' packets per second on the network meanwhile,
    and their mean size (`background`); `links`: the prober's and the peer's access links."""
    base = {key: record[key] for key in ("network", "round", "t", "peer", "sent", "received", "bytes_sent")}
    rows = [*_delays(record, conditions, apps, links), _loss(record, conditions, links)]
    if conditions.get("rate_bps") and record["round"] == 1:  # named once: no round measures it
        rows.append(_rate(conditions))
    return [{**base, **row} for row in rows]


def span(record: dict) -> tuple[float, float]:
    """When a round's packets crossed its network (Unix seconds): from its start until the echo of its
    last request, sent `sent` intervals in, could come back (its longest round trip)."""
    last_sent = record["t"] + record["sent"] * record["interval_s"]
    return record["t"], last_sent + max(record["rtt_ms"], default=0.0) / 1000


def left_out_because(timeline: Timeline, started: float, crossed: tuple[float, float]) -> str | None:
    """Why a round that crossed between these instants has no one state to be judged against, or None.
    `started`: when the run's window opened, the timeline's zero."""
    first, last = (ms(t - started) for t in (crossed[0] - CHANGE_MARGIN_S, crossed[1] + CHANGE_MARGIN_S))
    boundaries = []
    t = first
    while found := timeline.boundaries_after(t, last + 1):
        boundaries += found
        t = found[0].t_ms
    if timeline.state(first).cut_off or any(b.action["partition"] for b in boundaries):
        return IN_A_PARTITION
    return ACROSS_A_CHANGE if boundaries else None


def peer_faulted(record: dict, faults: list[dict], crossed: tuple[float, float]) -> str | None:
    """Whether a kill took the round's peer away, or a scale change its node's tasks, while it ran:
    its lost echoes are then no network's loss. `faults`: run.json's, as the run phase applied them."""
    service = record["peer"].split(".")[0]  # a task is named <stack>_<node>.<slot>.<task id>
    for fault in faults:
        if not crossed[0] - CHANGE_MARGIN_S <= fault["applied_t"] <= crossed[1] + CHANGE_MARGIN_S:
            continue
        scaled = fault["kind"] == "scale" and fault["service"] == service
        if scaled or record["peer"] in fault.get("killed", ()):
            return ACROSS_A_FAULT
    return None


def probe_results(
    records: list[dict],
    timelines: dict[str, Timeline],
    started: float | None,
    ended: float,
    traffic: list[dict] = (),
    faults: list[dict] = (),
    links: dict[str, dict[str, dict]] | None = None,
) -> tuple[list[dict], list[dict]]:
    """run.json's `probes` and `probes_left_out`: every round of every network, in time order, judged
    against the conditions its network's timeline had in force then (`timelines`: {network:
    Timeline of the conditions and scenario the stack gave its gateway}; `started`: when the run's
    window opened, None if it never did: then no action ran), beside the apps' traffic the gateways
    counted (`traffic` records); and the rounds left out, each with why. A round not over by the
    run's end (`ended`, Unix seconds) is left out like every record after it, and so is one whose
    peer a kill or scale change (`faults`) took away. `links`: {network: {service: its replicas'
    access link ({up, down} conditions)}}, from the gateways' configs."""
    links = links or {}
    if started is None:
        timelines, started = {net: Timeline(tl.conditions, []) for net, tl in timelines.items()}, 0.0
    rows, left_out = [], []
    for record in sorted(records, key=lambda r: r["t"]):
        network = record["network"]
        if network not in timelines or not record["sent"]:
            continue
        timeline, crossed = timelines[network], span(record)
        why = (
            AFTER_THE_END
            if crossed[1] > ended
            else left_out_because(timeline, started, crossed) or peer_faulted(record, faults, crossed)
        )
        if why:
            left_out.append({"network": network, "round": record["round"], "t": record["t"], "why": why})
            continue
        apps = background(traffic, network, record["t"])
        linked = links.get(network, {})
        ends = tuple(linked.get(task.split(".")[0]) for task in (record["task"], record["peer"]))
        rows += judge(record, timeline.state(ms(record["t"] - started)).conditions, apps, ends)
    return rows, left_out
