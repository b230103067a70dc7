"""What every example run must show, whatever its topology: consumers succeeding as their networks
allow, nothing recorded after the run's end, a health table that agrees with the records, and
crashes only where the `error` app is. Used by tests/examples and tests/cluster."""

import gzip
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from tests.report.htmltables import number, records, tables

# A consumer of a network without loss must succeed this often.
LOSSLESS_SUCCESS = 0.99


def read_records(bundle: Path, kind: str) -> pd.DataFrame:
    with gzip.open(bundle / f"{kind}.jsonl.gz", "rt") as lines:
        return pd.DataFrame([json.loads(line) for line in lines])


def loss_probability(netem: dict) -> float:
    """The long-run share of packets a network's conditions drop (Gilbert-Elliott: its stationary mix)."""
    loss = netem.get("loss")
    if not loss:
        return 0.0
    if loss["model"] == "random":
        return loss["pct"] / 100
    p, r = loss["p_pct"] / 100, loss["r_pct"] / 100
    bad = p / (p + r)
    return bad * (1 - loss["h_pct"] / 100) + (1 - bad) * (1 - loss["k_pct"] / 100)


def consumers(run: dict) -> dict[str, tuple[float, bool]]:
    """Each consuming node: the loss probability of the networks its calls cross (its peer's network,
    and the broker's networks when the peer serves MQTT: requests cross both legs), and whether
    its peer serves MQTT (wotpy then reads properties over MQTT)."""
    topology, gateways = run["topology"], run["gateways"]
    nodes = {node["name"]: node for node in topology["nodes"]}
    out = {}
    for node in topology["nodes"]:
        host = node["app"]["params"].get("servient_host")
        if not host:
            continue
        peer_name, _, network = host.partition(".")
        crossed = {network}
        mqtt = "mqtt" in nodes[peer_name]["app"]["protocols"]
        if mqtt:
            crossed |= {net for broker in topology["brokers"] for net in broker["networks"]}
        out[node["name"]] = (sum(loss_probability(gateways[net]["netem"]) for net in crossed), mqtt)
    return out


def allowed_failures(calls: int, loss: float) -> float:
    """None lost on a lossless network (beyond 1 %); else the binomial mean plus three deviations."""
    if loss == 0:
        return calls * (1 - LOSSLESS_SUCCESS)
    return calls * loss + 3 * math.sqrt(calls * loss * (1 - loss))


def assert_consumers_succeed(bundle: Path) -> None:
    run = json.loads((bundle / "run.json").read_text())
    ended = pd.Timestamp(run["ended_at"]).timestamp()
    interactions = read_records(bundle, "interactions")
    interactions = interactions[interactions["t"] - interactions["latency_s"] <= ended]
    events = read_records(bundle, "events")
    events = events[events["t"] <= ended]
    for service, (loss, mqtt) in consumers(run).items():
        calls = interactions[(interactions["service"] == service) & (interactions["side"] == "consumer")]
        if mqtt:  # through the broker by its name on the consumer's own network (mishmash's readers)
            reads = calls[calls["verb"] == "readproperty"]
            assert set(reads["protocol"]) <= {"mqtt"}, f"{service}: {set(reads['protocol'])}"
        received = events[(events["service"] == service) & (events["side"] == "consumer")]
        outcomes = calls["ok"] if len(calls) else received["event"] != "error"
        assert len(outcomes), f"{service}: no interaction and no event during the run"
        failed = int((~outcomes.astype(bool)).sum())
        errors = calls.loc[~calls["ok"], "error"].value_counts().head(3).to_dict() if len(calls) else {}
        assert failed <= allowed_failures(len(outcomes), loss), (
            f"{service}: {failed} of {len(outcomes)} failed (loss {loss:.2%}): {errors}"
        )


def assert_nothing_recorded_after_the_end(bundle: Path) -> None:
    """No call starts after the run's end. A server may still serve, just after it, a call that
    started before (its request was on the wire): never more of them than calls were in flight."""
    run = json.loads((bundle / "run.json").read_text())
    started, ended = (pd.Timestamp(run[key]).timestamp() for key in ("started_at", "ended_at"))
    assert ended - started == pytest.approx(run["topology"]["experiment"]["duration"], abs=0.01)
    interactions = read_records(bundle, "interactions")
    began = interactions["t"] - interactions["latency_s"]
    consumer = interactions["side"] == "consumer"
    late = interactions[consumer & (began > ended)]
    assert late.empty, late[["service", "verb", "t", "error"]].to_string()
    in_flight = (consumer & (began <= ended) & (interactions["t"] > ended)).sum()
    served_late = interactions[~consumer & (began > ended)]
    assert len(served_late) <= in_flight, served_late[["service", "verb", "t", "error"]].to_string()


def assert_health_table_agrees(bundle: Path) -> None:
    run = json.loads((bundle / "run.json").read_text())
    ended = pd.Timestamp(run["ended_at"]).timestamp()
    page = (bundle / "report.html").read_text()
    assert page.index("Run health") < page.index("Run summary")  # the first section
    rows = records(tables(page)["health"])
    shown = {row["service"]: row for row in rows}
    assert len(shown) == len(rows), "a service is listed twice"
    assert {node["name"] for node in run["topology"]["nodes"]} <= set(shown)
    interactions = read_records(bundle, "interactions")
    interactions = interactions[interactions["t"] - interactions["latency_s"] <= ended]
    events = read_records(bundle, "events")
    events = events[events["t"] <= ended] if len(events) else pd.DataFrame({"service": []})
    for service, row in shown.items():
        assert number(row["events"]) == (events["service"] == service).sum(), service
        calls = interactions[interactions["service"] == service]
        assert number(row["interactions"]) == len(calls), service
        if len(calls):
            share = (~calls["ok"]).mean() * 100
            assert number(row["failed_share"].rstrip("%")) == pytest.approx(share, abs=0.05 + 1e-9), service
    tasks = json.loads((bundle / "tasks.json").read_text())
    for service, row in shown.items():
        crashed = sum(1 for task in tasks if task["service"] == service and (task["exit_code"] or 0) != 0)
        assert number(row["exits"]) == crashed, service


def assert_the_stop_breaks_no_subscription(bundle: Path) -> None:
    """Subscribers go down before their peers and brokers: no subscription fails, even in the stop."""
    events = read_records(bundle, "events")
    if len(events):
        failed = events[events["event"] == "error"]
        assert failed.empty, failed[["service", "name", "protocol", "t", "error"]].to_string()


def assert_only_the_error_app_crashes(bundle: Path) -> None:
    run = json.loads((bundle / "run.json").read_text())
    failing = {node["name"] for node in run["topology"]["nodes"] if node["app"].get("builtin") == "error"}
    lifecycle = read_records(bundle, "lifecycle")
    errors = lifecycle[lifecycle["event"] == "error"]
    unexpected = errors[~errors["service"].isin(failing) | ~errors["detail"].str.contains("DeliberateError")]
    assert unexpected.empty, unexpected[["service", "task", "detail"]].to_string()
