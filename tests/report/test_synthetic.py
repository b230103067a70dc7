"""The synthetic bundles follow docs/design.md §8.4 exactly: what the report is tested on is what
a real run exports."""

import gzip
import json
import subprocess
import sys

import pandas as pd
import pytest

from report.bundle import COMMON_FIELDS, FIELDS, KINDS, RUN_KEYS, TASK_KEYS
from tests.conftest import ROOT
from wotemu_testbench.synthetic import generate


def lines(path) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]


def test_files_and_run_json(bundle_dir):
    names = {path.name for path in bundle_dir.iterdir()} - {"report.html", "report.json"}
    assert names == {"run.json", "tasks.json", *(f"{kind}.jsonl.gz" for kind in KINDS)}
    run = json.loads((bundle_dir / "run.json").read_text())
    assert set(run) == set(RUN_KEYS) and run["schema_version"] == 1
    assert {"networks", "nodes", "brokers"} <= set(run["topology"])
    for node in run["topology"]["nodes"]:
        assert {"name", "networks", "scale", "app"} <= set(node)
    for host in run["hosts"]:
        assert set(host) == {"name", "labels", "cpus", "mem_bytes", "arch"}
    for gateway in run["gateways"].values():
        assert set(gateway) == {"backend", "unhonoured", "netem"}
    for key in ("started_at", "stopped_at"):
        assert run[key].endswith("Z") and pd.Timestamp(run[key]).tzinfo is not None


@pytest.mark.parametrize("kind", KINDS)
def test_records_carry_their_fields(bundle_dir, kind):
    records = lines(bundle_dir / f"{kind}.jsonl.gz")
    assert records
    required = {*COMMON_FIELDS, *FIELDS[kind]}
    assert all(required <= set(record) for record in records)
    if kind != "info":  # info records add role-specific keys (gateways: backend, unhonoured, ...)
        assert all(set(record) == required for record in records)


def test_tasks_include_a_failed_and_restarted_one(bundle_dir):
    tasks = json.loads((bundle_dir / "tasks.json").read_text())
    assert all(set(task) == set(TASK_KEYS) for task in tasks)
    assert len(tasks) == 40
    failed = [t for t in tasks if t["state"] == "failed"]
    assert failed and all(t["exit_code"] == 1 and t["error"] for t in failed)
    flaky = [t for t in tasks if t["service"] == "flaky"]
    assert len(flaky) == 2 and flaky[0]["slot"] == flaky[1]["slot"]


def test_traffic_counters_are_cumulative_per_gateway_task(bundle_dir):
    traffic = pd.DataFrame(lines(bundle_dir / "traffic.jsonl.gz"))
    for _, series in traffic.sort_values("t").groupby(["task", "protocol", "direction"]):
        assert series["packets"].is_monotonic_increasing and series["bytes"].is_monotonic_increasing
    assert traffic.groupby("network")["task"].nunique()["lan"] == 2


def test_system_samples_against_limits(bundle_dir):
    system = pd.DataFrame(lines(bundle_dir / "system.jsonl.gz"))
    limited = system.dropna(subset=["cpu_limit_cores"])
    assert len(limited) and limited["cpu_pct_of_limit"].notna().all()
    assert (limited["cpu_pct"] <= limited["cpu_limit_cores"] * 100 + 1e-9).all()
    assert system["cpu_limit_cores"].isna().any()  # unlimited services too


def test_empty_kinds_are_empty_gzip_files(tmp_path):
    bundle = generate(tmp_path / "b", interactions_n=0, events_n=0, tasks_n=12, with_traffic=False)
    for kind in ("interactions", "events", "traffic"):
        assert gzip.decompress((bundle / f"{kind}.jsonl.gz").read_bytes()) == b""


def test_command_line(tmp_path):
    help_text = subprocess.run(
        [sys.executable, "-m", "wotemu_testbench.synthetic", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert "--interactions" in help_text and "§8.4" in help_text
    out = tmp_path / "bundle"
    subprocess.run(
        [sys.executable, "-m", "wotemu_testbench.synthetic", str(out),
         "--interactions", "500", "--tasks", "12"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    assert len(lines(out / "interactions.jsonl.gz")) == 500
