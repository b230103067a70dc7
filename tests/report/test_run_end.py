"""What the stop recorded after the run's end is left out of the figures and counted apart."""

import json

import pandas as pd

from tests.report.htmltables import number, records, tables
from wotemu_runtime.cli import main as wotemu
from wotemu_testbench.synthetic import generate


def test_records_after_the_end_are_left_out_and_counted_apart(tmp_path):
    bundle = generate(tmp_path / "bundle", interactions_n=3_000, tasks_n=12)
    run = json.loads((bundle / "run.json").read_text())
    started = pd.Timestamp(run["started_at"]).timestamp()
    ended = started + (pd.Timestamp(run["stopped_at"]).timestamp() - started) * 0.75
    run["ended_at"] = pd.Timestamp(ended, unit="s", tz="UTC").isoformat()
    (bundle / "run.json").write_text(json.dumps(run))
    assert wotemu(["report", str(bundle), "--json"]) == 0

    interactions = pd.read_json(bundle / "interactions.jsonl.gz", lines=True)
    late = interactions["t"] - interactions["latency_s"] > ended
    assert 0 < late.sum() < len(interactions)
    html = (bundle / "report.html").read_text()
    page = tables(html)
    shown = {row["side"]: number(row["count"]) for row in records(page["interactions-total"])}
    assert shown["all"] == (~late).sum()  # the figures hold the run only
    health = {row["service"]: row for row in records(page["health"])}
    for service, count in interactions[late].groupby("service").size().items():
        assert number(health[service]["after_end"]) == count, service
    assert f"during the stop (left out of every figure): {late.sum():,} interactions" in html
    duration = ended - started
    facts = {row["field"]: row["value"] for row in records(page["run-facts"])}
    assert facts["duration"] == f"{duration:,.0f} s"
    counts = {row["kind"]: row for row in records(page["record-counts"])}
    assert number(counts["interactions"]["records"]) == len(interactions)  # the bundle holds them all
    assert number(counts["interactions"]["after_end"]) == late.sum()


def test_what_the_stop_could_not_collect_is_a_warning_at_the_top(tmp_path):
    bundle = generate(tmp_path / "bundle", interactions_n=500, tasks_n=12)
    run = json.loads((bundle / "run.json").read_text())
    run["not_collected"] = [
        {"what": "log tails and container times of node-2", "why": "timed out after 30 s"}
    ]
    (bundle / "run.json").write_text(json.dumps(run))
    assert wotemu(["report", str(bundle)]) == 0
    html = (bundle / "report.html").read_text()
    warning = "Not collected: log tails and container times of node-2 (timed out after 30 s)."
    assert warning in html
    assert html.index('<section id="health">') < html.index(warning) < html.index('<table id="health"')
