"""The writer against a real Redis: metadata, batching, outages, bounded buffer, drops reported."""

import json
import subprocess
import sys
import time

import pytest

from wotemu_runtime.metrics.export import drops_totals, export_run
from wotemu_runtime.metrics.writer import MetricsWriter
from wotemu_testbench.services import node_env, service_config, stop


def test_records_carry_the_common_fields(config, redis_server, monkeypatch):
    monkeypatch.setenv("WOTEMU_TASK", "unit.1.abc")
    writer = MetricsWriter(config)
    for index in range(1200):  # more than one batch
        writer.write("app", metric="m", value=index, data={})
    writer.write("lifecycle", event="start", detail="")
    assert writer.close(5) == 0
    records = redis_server.records(config["run_id"], "app")
    assert [r["value"] for r in records] == list(range(1200))
    first = records[0]
    assert (first["run_id"], first["service"], first["task"]) == (config["run_id"], "unit", "unit.1.abc")
    assert first["t"] > 1e9 and first["mono"] > 0
    assert writer.written == {"app": 1200, "lifecycle": 1}


def test_outage_buffers_and_counts_what_does_not_fit(config, redis_server):
    writer = MetricsWriter(config, buffer_max=100, flush_interval_s=0.05, max_backoff_s=0.2)
    redis_server.kill()
    for index in range(250):
        writer.write("app", metric="m", value=index, data={})
    time.sleep(0.3)
    redis_server.start()
    assert writer.close(10) == 0
    stored = redis_server.records(config["run_id"], "app")
    with redis_server.client() as client:
        drops = drops_totals(client, config["run_id"])
    # Every record is either stored or reported as dropped, never silently lost.
    assert len(stored) + drops.get("app", 0) == 250
    assert drops["app"] >= 150 - 1 and writer.dropped["app"] == drops["app"]
    assert [r["value"] for r in stored] == sorted(r["value"] for r in stored)


def test_the_buffer_is_bounded_in_bytes_and_counts_what_does_not_fit(config, redis_server):
    """2 000 records of 100 kB once held 201 MB in the queue; the bound is in bytes as well."""
    writer = MetricsWriter(config, buffer_max_bytes=1024**2, flush_interval_s=0.05, max_backoff_s=0.2)
    redis_server.kill()
    blob = "x" * 100_000
    for index in range(2000):
        writer.write("app", metric="big", value=index, data={"blob": blob})
    assert writer.dropped["app"] >= 2000 - 11  # a MiB holds ten such records
    redis_server.start()
    assert writer.close(10) == 0
    stored = redis_server.records(config["run_id"], "app")
    with redis_server.client() as client:
        drops = drops_totals(client, config["run_id"])
    assert len(stored) + drops["app"] == 2000 and len(stored) <= 10


def test_writes_never_block_while_redis_is_down(config, redis_server):
    redis_server.kill()
    writer = MetricsWriter(config)
    start = time.perf_counter()
    for _ in range(1000):
        writer.write("app", metric="m", value=1, data={})
    assert time.perf_counter() - start < 0.5
    assert writer.close(0.5) == 1000


def test_redis_killed_and_restarted_mid_run_loses_nothing(redis_server, tmp_path):
    """A node app writes N metrics while Redis is SIGKILLed and restarted: N are exported, once each."""
    count, done = 400, tmp_path / "done"
    config = service_config(
        redis_server,
        "test-restart",
        "producer",
        app={
            "path": "tests/node/apps/metric_writer.py",
            "protocols": [],
            "params": {"count": count, "rate": 200.0, "done_file": str(done)},
        },
    )
    path = tmp_path / "producer.json"
    path.write_text(json.dumps(config))
    with open(tmp_path / "producer.log", "w") as log:
        node = subprocess.Popen(
            [sys.executable, "-m", "wotemu_runtime", "node", "--config", str(path)],
            env=node_env("producer.1"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while len(redis_server.records("test-restart", "app")) < 50:  # mid-run: some records are in
            assert time.monotonic() < deadline and node.poll() is None, (
                tmp_path / "producer.log"
            ).read_text()
            time.sleep(0.05)
        redis_server.kill()
        time.sleep(1.0)
        redis_server.start()
        while not done.exists():
            assert time.monotonic() < deadline, (tmp_path / "producer.log").read_text()
            time.sleep(0.1)
    finally:
        stop(node)
    assert node.returncode == 0, (tmp_path / "producer.log").read_text()
    with redis_server.client() as client:
        counts = export_run(client, "test-restart", tmp_path / "bundle")
        assert drops_totals(client, "test-restart") == {}
    assert counts["app"] == int(done.read_text()) == count
    values = [r["value"] for r in redis_server.records("test-restart", "app")]
    assert sorted(values) == list(range(count))  # each exactly once
    assert "Redis unreachable" in (tmp_path / "producer.log").read_text()  # the outage did happen


def test_redis_never_back_every_record_is_counted_at_close(config, redis_server):
    writer = MetricsWriter(config, buffer_max=30, flush_interval_s=0.05, max_backoff_s=0.2)
    redis_server.kill()
    for index in range(100):
        writer.write("app", metric="m", value=index, data={})
    time.sleep(0.5)  # the writer has tried: its `drops` record for the 70 is in flight, unsent
    assert writer.close(1) == 100


def test_a_field_the_contract_does_not_know_is_refused_where_it_is_written(config):
    writer = MetricsWriter(config)
    try:
        with pytest.raises(ValueError, match="latency"):
            writer.write("interactions", latency=0.1, ok=True)  # the contract's field is latency_s
        with pytest.raises(ValueError, match="interaction"):
            writer.write("interaction", ok=True)
        writer.write("info", hostname="h", backend="userspace")  # info is open to role keys
    finally:
        writer.close()
