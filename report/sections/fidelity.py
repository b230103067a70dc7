"""Network fidelity: what the probes measured on each network against what it was configured with,
the application latency those conditions explain per binding against the one observed, and
whether the host or a gateway was saturated (which distorts every latency through it).

The probe rows come judged from run.json (`probes`, control/probes.py); this section only shows
them. The expected latency per binding is a model of the round trips each call needs:

* HTTP: 2 RTT: wotpy's HTTP client opens a new TCP connection per call (handshake, then request).
* WS: 1 RTT: the client keeps one connection per server open; the first call pays the handshake.
* CoAP: 1 RTT: a confirmable request and its piggybacked response.
* MQTT: 2 RTT: request and reply each go through the broker (four crossings), on open connections.

plus the serialisation of the call's bytes at the network's rate (both directions share it): the
bytes per call are the gateway's counted bytes of the protocol over the calls made with it. A
round trip crosses the network twice, and the access links (run.json's `links`) of the consumer
and of the server its `servient_host` names, each both ways.
"""

import pandas as pd

from report.blocks import Section, fmt_float, fmt_int, fmt_text, note, table, warning
from report.bundle import Bundle
from report.plots import TimeAxis
from report.timeseries import bucket

ROUND_TRIPS = {"http": 2, "ws": 1, "coap": 1, "mqtt": 2}
SATURATED_SHARE = 0.9  # the run's containers used ≥ 90 % of the host's cores


def probe_rows(bundle: Bundle) -> pd.DataFrame:
    columns = ["network", "round", "parameter", "configured", "target", "measured", "interval", "tolerance",
               "pass", "sent", "received", "bytes_sent", "note"]  # fmt: skip
    return pd.DataFrame(bundle.run.get("probes") or [], columns=columns)


def misses(probes: pd.DataFrame) -> list[str]:
    """One warning per network and parameter that missed its target in at least one round."""
    out = []
    missed = probes[probes["pass"].eq(False)]  # None is no verdict, not a miss
    for (network, parameter), rows in missed.groupby(["network", "parameter"], sort=True):
        worst = rows.iloc[(rows["measured"].fillna(0) - rows["target"]).abs().argmax()]
        out.append(
            f"Network {network}: {parameter} NOT as configured in {len(rows)} of "
            f"{(probes['network'].eq(network) & probes['parameter'].eq(parameter)).sum()} probe round(s) "
            f"— target {worst['target']}, measured {fmt_text(worst['measured'])} in round {worst['round']}."
        )
    return out


def left_out(bundle: Bundle) -> str | None:
    """The probe rounds with no verdict, counted by why (run.json's `probes_left_out`)."""
    rounds = bundle.run.get("probes_left_out") or []
    if not rounds:
        return None
    counts = pd.Series([r["why"] for r in rounds]).value_counts(sort=False)
    why = "; ".join(f"{count} {reason}" for reason, count in counts.items())
    return (
        f"{len(rounds)} probe round(s) left out of the verdicts, having no one set of conditions to "
        f"be judged against: {why}."
    )


def _servient_host(spec: dict) -> str:
    return str(((spec.get("app") or {}).get("params") or {}).get("servient_host", ""))


def _network_of(spec: dict) -> str | None:
    """The network a node's calls cross: its only one, or the one its `servient_host` alias names."""
    networks = spec.get("networks") or []
    if len(networks) == 1:
        return networks[0]
    host = _servient_host(spec)
    return next((net for net in networks if host.endswith(f".{net}")), None)


def _links_ms(bundle: Bundle, spec: dict, network: str) -> float:
    """The configured delay one round trip of a node's calls adds on access links: its own link's
    two ways and those of the server its `servient_host` names (`<node>.<network>`), on `network`."""
    linked = (bundle.run.get("links") or {}).get(network, {})
    ends = (spec["name"], _servient_host(spec).split(".")[0])
    return sum(linked[end][way]["delay_ms"] for end in ends if end in linked for way in ("up", "down"))


def _bytes_per_call(bundle: Bundle, calls: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(network, protocol) -> bytes the gateway counted for the protocol per consumer call of it."""
    traffic = bundle.tables["traffic"]
    if traffic.empty:
        return {}
    # Counters are cumulative per gateway task and direction: their last value is the task's total.
    totals = traffic.groupby(["network", "task", "protocol", "direction"], observed=True)["bytes"].max()
    per_protocol = totals.groupby(level=["network", "protocol"], observed=True).sum()
    counted = calls.groupby(["network", "protocol"]).size()
    return {
        (net, proto): per_protocol.get((net, proto), 0) / count
        for (net, proto), count in counted.items()
        if count
    }


def _probed_network_ms(probes: pd.DataFrame, conditions: dict[str, dict]) -> pd.Series:
    """Per network, the probes' median one-way delay of the network itself: a round's pair may have
    had access links, whose configured share of its path (`configured` less the network's delay)
    is taken off, so that the links of the node at hand are added instead."""
    rounds = probes[(probes["parameter"] == "delay_ms") & probes["network"].isin(list(conditions))]
    if rounds.empty:
        return pd.Series(dtype=float)
    network_delay = rounds["network"].map(lambda net: conditions[net].get("delay_ms") or 0)
    on_links = rounds["configured"].fillna(network_delay) - network_delay
    return (rounds["measured"] - on_links).groupby(rounds["network"]).median()


def expected_latency(bundle: Bundle) -> pd.DataFrame:
    """Per consumer service and binding: expected latency from the configured conditions (and from
    the probes' measured round trip), against the observed median."""
    columns = ["service", "protocol", "network", "round_trips", "expected_ms", "probed_ms", "observed_p50_ms",
               "excess_ms", "calls"]  # fmt: skip
    frame = bundle.tables["interactions"]
    topology = bundle.run.get("topology") or {}
    conditions = {net: g.get("netem") or {} for net, g in bundle.run["gateways"].items()}
    specs = {n["name"]: n for n in topology.get("nodes") or []}
    nodes = {name: _network_of(spec) for name, spec in specs.items()}
    calls = frame[(frame["side"] == "consumer") & frame["ok"]].astype({"service": str, "protocol": str})
    if calls.empty or not conditions:
        return pd.DataFrame(columns=columns)
    calls = calls.assign(network=calls["service"].map(nodes))
    calls = calls[calls["network"].isin(list(conditions)) & calls["protocol"].isin(list(ROUND_TRIPS))]
    per_call = _bytes_per_call(bundle, calls)
    probes = probe_rows(bundle)
    probed = _probed_network_ms(probes, conditions)
    rows = []
    for (service, protocol, network), group in calls.groupby(["service", "protocol", "network"]):
        netem = conditions[network]
        rate = netem.get("rate_bps")
        serialisation = per_call.get((network, protocol), 0) * 8 / rate * 1e3 if rate else 0.0
        trips = ROUND_TRIPS[protocol]
        links = _links_ms(bundle, specs[service], network)
        expected = trips * (2 * (netem.get("delay_ms") or 0) + links) + serialisation
        observed = group["latency_s"].median() * 1e3
        from_probe = trips * (2 * probed[network] + links) + serialisation if network in probed else None
        rows.append((service, protocol, network, trips, expected, from_probe, observed, observed - expected,
                     len(group)))  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def contention(bundle: Bundle, axis: TimeAxis) -> str | None:
    """A note when the run's containers together used nearly all of the host's cores."""
    system = bundle.tables["system"]
    cores = sum(h.get("cpus") or 0 for h in bundle.run.get("hosts") or [])
    if system.empty or not cores:
        return None
    keyed = system.assign(bucket=bucket(system["t"], axis.start, axis.bucket_s))
    # One sample per task and bucket (its mean), summed over tasks: the run's load in each bucket.
    load = keyed.groupby(["bucket", "task"], observed=True)["cpu_pct"].mean().groupby(level="bucket").sum()
    saturated = load[load >= SATURATED_SHARE * 100 * cores]
    if saturated.empty:
        return None
    return (
        f"Host contention: the run's containers used ≥ {SATURATED_SHARE:.0%} of the host's {cores:g} "
        f"core(s) in {len(saturated)} of {len(load)} time buckets ({axis.bucket_s:g} s each; peak "
        f"{load.max() / 100:.2f} cores). Latencies measured then include waiting for a CPU."
    )


def saturated_gateways(bundle: Bundle, axis: TimeAxis) -> list[str]:
    """A warning per network whose gateway was saturated: a userspace shaper (one thread) whose
    process used nearly a whole core, or a queue nearly at its limit."""
    shaping, system = bundle.tables["shaping"], bundle.tables["system"]
    gateways = bundle.run.get("gateways") or {}
    out = []
    for network, rows in shaping.groupby("network", observed=True):
        network, info, reasons = str(network), gateways.get(str(network)) or {}, []
        if info.get("backend") == "userspace":
            samples = system[system["service"].isin(rows["service"].unique())]
            keyed = samples.assign(bucket=bucket(samples["t"], axis.start, axis.bucket_s))
            load = (
                keyed.groupby(["bucket", "task"], observed=True)["cpu_pct"]
                .mean()
                .groupby(level="bucket")
                .max()
            )
            busy = load[load >= SATURATED_SHARE * 100]
            if len(busy):
                reasons.append(
                    f"its process used ≥ {SATURATED_SHARE:.0%} of a core in {len(busy)} of {len(load)} time "
                    f"buckets ({axis.bucket_s:g} s each), and the userspace shaper runs in one thread"
                )
        limit = (info.get("netem") or {}).get("limit_packets")
        full = rows[rows["queued"] >= SATURATED_SHARE * limit] if limit else rows.iloc[:0]
        if len(full):
            reasons.append(
                f"its queue held ≥ {SATURATED_SHARE:.0%} of its {limit}-packet limit in {len(full)} of "
                f"{len(rows)} samples"
            )
        if reasons:
            out.append(
                f"Network {network}: its gateway was saturated: {'; '.join(reasons)}. Latencies through it "
                "include the gateway's own delay, and what overflowed its queue was dropped."
            )
    return out


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("fidelity", "Network fidelity")
    probes = probe_rows(bundle)
    warnings = misses(probes)
    section.add(*(warning(text) for text in warnings))
    crowded = contention(bundle, axis)
    if crowded:
        section.add(warning(crowded))
    section.add(*(warning(text) for text in saturated_gateways(bundle, axis)))
    unjudged = left_out(bundle)
    if unjudged:
        section.add(note(unjudged))
    if probes.empty:
        section.add(note("No fidelity probe results in this run (probes off, or no network had two tasks)."))
    else:
        sent = probes.drop_duplicates(["network", "round"])["bytes_sent"].sum()
        section.add(
            note(
                f"UDP echo round trips between two tasks of each network, marked and routed like the apps' "
                f"traffic; {sent:,} bytes of requests in all (the echoes as many). Delay: the median one-way "
                "(half the round trip) against the median the conditions in force during the round (the "
                "network's own, or its scenario's) give this probe's packet train under netem's rules "
                "(with a rate, a packet waits for the one before it, so jitter raises the median above "
                "the configured delay), within max(2 %, 0.5 ms) of the measured median's 95 % interval; "
                "loss: inside its 95 % interval. Where the two tasks share a host (one clock), each way "
                "is judged too (forward: the request's, back: the echo's); access links on the path count "
                "in its configured delay and target. A blank verdict is no verdict."
            ),
            table(
                probes,
                "probes",
                {
                    "network": ("network", fmt_text),
                    "round": ("round", fmt_int),
                    "parameter": ("parameter", fmt_text),
                    "configured": ("configured (ms)", fmt_text),
                    "target": ("target", fmt_text),
                    "measured": ("measured", fmt_text),
                    "interval": ("95 % interval", fmt_text),
                    "tolerance": ("tolerance", fmt_text),
                    "pass": ("pass", lambda v: "—" if v is None or pd.isna(v) else ("pass" if v else "MISS")),
                    "sent": ("sent", fmt_int),
                    "received": ("answered", fmt_int),
                    "note": ("note", fmt_text),
                },
                caption="Fidelity probes: measured against configured conditions",
            ),
        )
    expected = expected_latency(bundle)
    if len(expected):
        section.add(
            table(
                expected,
                "expected-latency",
                {
                    "service": ("service", fmt_text),
                    "protocol": ("binding", fmt_text),
                    "network": ("network", fmt_text),
                    "round_trips": ("round trips", fmt_int),
                    "expected_ms": ("expected ms (configured)", fmt_float(1)),
                    "probed_ms": ("expected ms (probed delay)", fmt_float(1)),
                    "observed_p50_ms": ("observed median ms", fmt_float(1)),
                    "excess_ms": ("observed - expected ms", fmt_float(1)),
                    "calls": ("calls", fmt_int),
                },
                caption="Application latency: what the network conditions explain, and what was observed",
            ),
            note(
                "Expected: round trips x 2 x the one-way delay, plus the call's bytes at the rate; HTTP "
                "2 round trips (a new connection per call), WS and CoAP 1, MQTT 2 (through the broker). "
                "The excess is the app, the servient and the host."
            ),
        )
    section.tables = {
        "probes": probes,
        "expected_latency": expected,
        "fidelity_warnings": pd.DataFrame({"warning": [*warnings, *([crowded] if crowded else [])]}),
    }
    return section
