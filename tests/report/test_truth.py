"""The report tells the truth: every number in its summary tables equals a pandas computation on
the same bundle, read here independently of the report's reader (plain `pandas.read_json`), and
the page shows the same numbers as the --json output, rounded as displayed."""

import json

import numpy as np
import pandas as pd
import pytest

from report.bundle import load
from report.sections.fidelity import expected_latency
from report.sections.interactions import ROWS_SHOWN
from tests.report.htmltables import number, records, tables

QUANTILES = {"latency_p50_ms": 50, "latency_p95_ms": 95, "latency_p99_ms": 99}
# Display precision per column: a shown value may differ from the exact one by half a unit.
PRECISION = {
    "error_rate_pct": 0.005,
    "latency_mean_ms": 0.05,
    "latency_max_ms": 0.05,
    **dict.fromkeys(QUANTILES, 0.05),
}


def raw(bundle_dir, kind: str) -> pd.DataFrame:
    return pd.read_json(bundle_dir / f"{kind}.jsonl.gz", lines=True, dtype=False, convert_dates=False)


def expected_stats(frame: pd.DataFrame) -> dict:
    ok = frame.loc[frame["ok"], "latency_s"].to_numpy() * 1000
    out = {
        "count": len(frame),
        "ok": int(frame["ok"].sum()),
        "errors": int((~frame["ok"]).sum()),
        "error_rate_pct": (~frame["ok"]).mean() * 100,
    }
    if len(ok):  # a group of failures only has no latency (a rare operation among many)
        out.update(latency_mean_ms=ok.mean(), latency_max_ms=ok.max())
        out.update({key: np.percentile(ok, q) for key, q in QUANTILES.items()})
    return out


def check_row(expected: dict, json_row: dict, html_row: dict | None, where: str) -> None:
    for key, value in expected.items():
        assert json_row[key] == pytest.approx(value, rel=1e-9), f"{where}: {key} in --json"
        if html_row is not None:
            shown = number(html_row[key])
            assert shown == pytest.approx(value, abs=PRECISION.get(key, 0) + 1e-9), (
                f"{where}: {key} on the page"
            )


@pytest.fixture(scope="module")
def report(built):
    html_path, json_path = built
    return tables(html_path.read_text()), json.loads(json_path.read_text())["tables"]


def test_interaction_totals(bundle_dir, report):
    page, data = report
    interactions = raw(bundle_dir, "interactions")
    shown = {row["side"]: row for row in records(page["interactions-total"])}
    by_side = {row["side"]: row for row in data["interactions_total"]}
    assert set(shown) == set(by_side) == {"all", "consumer", "producer"}
    check_row(expected_stats(interactions), by_side["all"], shown["all"], "all")
    for side, frame in interactions.groupby("side"):
        check_row(expected_stats(frame), by_side[side], shown[side], side)


def test_interactions_per_operation(bundle_dir, report):
    page, data = report
    interactions = raw(bundle_dir, "interactions")
    interactions["protocol"] = interactions["protocol"].fillna("—")
    keys = ["side", "thing_title", "verb", "name", "protocol"]
    shown = {tuple(row[k] for k in keys): row for row in records(page["interactions-by-operation"])}
    exported = {tuple(row[k] or "—" for k in keys): row for row in data["interactions_by_operation"]}
    groups = dict(list(interactions.groupby(keys)))
    assert len(groups) > 20
    assert set(exported) == set(groups)
    # The page shows the first ROWS_SHOWN operations (the export has them all), in the export's order.
    assert list(shown) == list(exported)[: min(ROWS_SHOWN, len(exported))]
    for key, frame in groups.items():
        check_row(expected_stats(frame), exported[key], shown.get(key), str(key))


def test_interactions_per_protocol(bundle_dir, report):
    page, data = report
    interactions = raw(bundle_dir, "interactions")
    series = interactions["protocol"].where(interactions["side"] == "consumer", "producer")
    shown = {row["series"]: row for row in records(page["interactions-by-protocol"])}
    exported = {row["series"]: row for row in data["interactions_by_protocol"]}
    assert set(shown) == set(exported) == set(series)
    for name, frame in interactions.groupby(series):
        check_row(expected_stats(frame), exported[name], shown[name], name)


def test_errors(bundle_dir, report):
    page, data = report
    interactions = raw(bundle_dir, "interactions")
    expected = interactions.loc[~interactions["ok"], "error"].value_counts().to_dict()
    assert {row["error"]: number(row["count"]) for row in records(page["interaction-errors"])} == expected
    assert {row["error"]: row["count"] for row in data["interaction_errors"]} == expected


def test_traffic_totals_difference_cumulative_counters(bundle_dir, report):
    page, data = report
    traffic = raw(bundle_dir, "traffic").sort_values("t", kind="stable")
    expected: dict[tuple, list[int]] = {}
    for (_, network, protocol, direction), series in traffic.groupby(
        ["task", "network", "protocol", "direction"]
    ):
        total = expected.setdefault((network, protocol, direction), [0, 0])
        for i, column in enumerate(("packets", "bytes")):
            previous = 0
            for value in series[column]:
                total[i] += value - previous if value >= previous else value  # a drop: the counter restarted
                previous = value
    shown = {(r["network"], r["protocol"], r["direction"]): r for r in records(page["traffic-totals"])}
    exported = {(r["network"], r["protocol"], r["direction"]): r for r in data["traffic"]}
    assert set(shown) == set(exported) == set(expected)
    for key, (packets, size) in expected.items():
        assert exported[key]["packets"] == packets and exported[key]["bytes"] == size, key
        assert number(shown[key]["packets"]) == packets and number(shown[key]["bytes"]) == size, key
    # The lan gateway restarted: its total holds what both of its tasks counted, more than the
    # last task's final counters (what a reader that ignored restarts would report).
    lan = traffic[traffic["network"] == "lan"]
    last_task = lan.loc[lan["t"].idxmax(), "task"]
    last_only = lan[lan["task"] == last_task].groupby(["protocol", "direction"])["bytes"].max().sum()
    assert sum(r["bytes"] for r in data["traffic"] if r["network"] == "lan") > last_only
    assert {r["network"]: r["gateway_tasks"] for r in data["gateway_tasks"]}["lan"] == 2


def test_shaped_totals_add_up_each_gateway_tasks_counts(bundle_dir, report):
    page, data = report
    shaping = raw(bundle_dir, "shaping")
    # Cumulative per gateway task, never restarted within one: each task's last counts, summed.
    last = shaping.sort_values("t", kind="stable").groupby(["network", "task"]).last()
    expected = last.groupby("network")[["packets", "bytes", "dropped"]].sum()
    shown = {r["network"]: r for r in records(page["shaped-totals"])}
    exported = {r["network"]: r for r in data["shaped"]}
    assert set(shown) == set(exported) == set(expected.index) == {"cell", "lan", "wifi"}
    for network, row in expected.iterrows():
        share = 100 * row["dropped"] / (row["packets"] + row["dropped"])
        assert {k: exported[network][k] for k in ("packets", "bytes", "dropped")} == row.to_dict(), network
        assert exported[network]["dropped_pct"] == pytest.approx(share, rel=1e-9)
        assert number(shown[network]["dropped_pct"]) == pytest.approx(share, abs=0.005 + 1e-9)
        assert number(shown[network]["configured_loss_pct"]) == 0.5  # the synthetic networks' loss
    assert exported["lan"]["backend"] == "netem" and exported["cell"]["backend"] == "userspace"


def test_tasks_per_service(bundle_dir, report):
    page, data = report
    tasks = pd.DataFrame(json.loads((bundle_dir / "tasks.json").read_text()))
    shown = {row["service"]: row for row in records(page["tasks-per-service"])}
    exported = {row["service"]: row for row in data["services"]}
    for service, frame in tasks.groupby("service"):
        expected = {
            "tasks": len(frame),
            "running": int((frame["state"] == "running").sum()),
            "failed": int((frame["state"] == "failed").sum()),
            "restarts": len(frame) - frame["slot"].nunique(),
        }
        for key, value in expected.items():
            assert exported[service][key] == value and number(shown[service][key]) == value, (service, key)
    assert exported["flaky"]["restarts"] == 1 and exported["flaky"]["failed"] == 1


def test_resource_ranking(bundle_dir, report):
    page, data = report
    system = raw(bundle_dir, "system")
    mean_cpu = system.groupby("task")["cpu_pct"].mean()
    peak_mem = system.groupby("task")["mem_bytes"].max() / 2**20
    exported = data["tasks_by_resources"]
    assert len(exported) == system["task"].nunique()
    assert [row["task"] for row in exported] == list(mean_cpu.sort_values(ascending=False).index)
    for row in exported:
        assert row["cpu_mean_pct"] == pytest.approx(mean_cpu[row["task"]], rel=1e-9)
        assert row["mem_max_mib"] == pytest.approx(peak_mem[row["task"]], rel=1e-9)
    for row in records(page["tasks-by-cpu"]):
        assert number(row["cpu_mean_pct"]) == pytest.approx(mean_cpu[row["task"]], abs=0.05 + 1e-9)


def test_counts_of_records_events_and_app_metrics(bundle_dir, report):
    page, data = report
    counts = {row["kind"]: number(row["records"]) for row in records(page["record-counts"])}
    for kind, shown in counts.items():
        assert shown == len(raw(bundle_dir, kind)), kind
    events = raw(bundle_dir, "events")
    assert sum(row["count"] for row in data["events"]) == len(events)
    expected_events = events.groupby("event").size().to_dict()
    shown_events: dict[str, float] = {}
    for row in records(page["events-counts"]):
        shown_events[row["event"]] = shown_events.get(row["event"], 0) + number(row["count"])
    assert shown_events == expected_events
    app = raw(bundle_dir, "app")
    for row in data["app_metrics"]:
        values = app.loc[app["metric"] == row["metric"], "value"]
        assert row["records"] == len(values)
        assert row["mean"] == pytest.approx(values.mean(), rel=1e-9)


def test_summary_warns_about_shaping_and_drops(bundle_dir, report, built):
    page, data = report
    run = json.loads((bundle_dir / "run.json").read_text())
    html = built[0].read_text()
    for network, gateway in run["gateways"].items():
        if gateway["unhonoured"]:
            assert f"Network {network}: conditions NOT fully honoured" in html
    userspace = sorted(n for n, g in run["gateways"].items() if g["backend"] == "userspace")
    assert userspace, "the synthetic bundle has userspace-shaped networks"
    assert html.count("shaped by the userspace shaper") == 1  # said once, not once per network
    label = "Network" if len(userspace) == 1 else "Networks"
    assert f"{label} {', '.join(userspace)}: shaped by the userspace shaper" in html
    assert data["run"][0]["records_dropped"] == sum(run["drops"].values())
    backends = {row["network"]: row["backend"] for row in records(page["gateways"])}
    assert backends == {network: g["backend"] for network, g in run["gateways"].items()}


def test_health_is_the_first_section_and_agrees_with_the_records(bundle_dir, report, built):
    page, _ = report
    html = built[0].read_text()
    assert html.index("Run health") < html.index("Run summary")
    interactions = raw(bundle_dir, "interactions")
    rows = records(page["health"])
    shown = {row["service"]: row for row in rows}
    assert len(shown) == len(rows), "a service is listed twice"
    events = raw(bundle_dir, "events")
    for service, row in shown.items():
        assert number(row["events"]) == (events["service"] == service).sum(), service
    for service, calls in interactions.groupby("service"):
        failed = int((~calls["ok"]).sum())
        assert number(shown[service]["interactions"]) == len(calls), service
        assert number(shown[service]["failed_share"].rstrip("%")) == pytest.approx(
            failed / len(calls) * 100, abs=0.05 + 1e-9
        ), service
        if failed:
            counts = calls.loc[~calls["ok"], "error"].value_counts()
            top = min(error for error, count in counts.items() if count == counts.max())
            assert shown[service]["top_error"] == top, service
    tasks = json.loads((bundle_dir / "tasks.json").read_text())
    for service in shown:
        crashed = sum(1 for t in tasks if t["service"] == service and (t["exit_code"] or 0) != 0)
        assert number(shown[service]["exits"]) == crashed, service


def test_expected_latency_covers_every_binding_the_consumers_used(bundle_dir, report):
    page, data = report
    frame = raw(bundle_dir, "interactions")
    calls = frame[(frame["side"] == "consumer") & frame["ok"]]
    rows = data["expected_latency"]
    assert {(r["service"], r["protocol"]) for r in rows} == set(
        zip(calls["service"], calls["protocol"], strict=True)
    )
    for row in rows:
        mine = calls[(calls["service"] == row["service"]) & (calls["protocol"] == row["protocol"])]
        assert row["observed_p50_ms"] == pytest.approx(mine["latency_s"].median() * 1000, rel=1e-9)
        assert row["calls"] == len(mine)
    assert len(records(page["expected-latency"])) == len(rows)


def test_expected_latency_adds_the_access_links_of_consumer_and_server(bundle):
    """The reader calls server.cell: its round trips cross its own link and the server's, both ways."""
    before = expected_latency(load(bundle)).set_index(["service", "protocol"])
    run = json.loads((bundle / "run.json").read_text())
    run["links"] = {"cell": {"reader": {"up": {"delay_ms": 20.0}, "down": {"delay_ms": 30.0}},
                             "server": {"up": {"delay_ms": 5.0}, "down": {"delay_ms": 5.0}}}}  # fmt: skip
    (bundle / "run.json").write_text(json.dumps(run))
    after = expected_latency(load(bundle)).set_index(["service", "protocol"])
    added = (after["expected_ms"] - before["expected_ms"]).round(6)
    trips = after["round_trips"]
    readers = added.index.get_level_values("service") == "reader"
    assert readers.any() and (added[readers] == 60.0 * trips[readers]).all()
    assert (added[~readers] == 0).all()  # the writer calls server.wifi: no link there
