"""Export into the bundle files of design §8.4, through the function and the CLI."""

import gzip
import json
import subprocess
import sys
import tarfile

from wotemu_runtime.contract import keys
from wotemu_runtime.metrics.export import KINDS, drops_totals, export_run
from wotemu_runtime.metrics.writer import MetricsWriter


def read_jsonl_gz(path):
    with gzip.open(path, "rt") as lines:
        return [json.loads(line) for line in lines]


def test_every_kind_gets_a_file_and_extra_kinds_are_kept(config, redis_server, tmp_path):
    writer = MetricsWriter(config)
    for index in range(7):
        writer.write("interactions", side="consumer", verb="readproperty", latency_s=0.01 * index)
    assert writer.close(5) == 0
    with redis_server.client() as client:  # a kind outside §8.3, as a newer runtime could write
        custom = keys.record_stream(config["run_id"], "unit", "custom")
        client.xadd(custom, {"r": json.dumps({"note": "new"})})
        counts = export_run(client, config["run_id"], tmp_path)
    assert counts == {**dict.fromkeys(KINDS, 0), "interactions": 7, "custom": 1}
    for kind in (*KINDS, "custom"):
        assert (tmp_path / f"{kind}.jsonl.gz").is_file()
    assert read_jsonl_gz(tmp_path / "system.jsonl.gz") == []
    rows = read_jsonl_gz(tmp_path / "interactions.jsonl.gz")
    assert [r["latency_s"] for r in rows] == [0.01 * i for i in range(7)]


def test_a_kind_is_every_writers_records_in_the_order_they_were_stored(config, redis_server, tmp_path):
    """Each service writes its own streams (contract.keys); the kind's file merges them all."""
    order = [("a", 0), ("b", 1), ("a", 2), ("b", 3), ("b", 4), ("a", 5)]
    for service, index in order:
        writer = MetricsWriter({**config, "service": service})
        writer.write("app", metric="m", value=index, data={})
        assert writer.close(5) == 0
    with redis_server.client() as client:
        assert export_run(client, config["run_id"], tmp_path)["app"] == len(order)
    rows = read_jsonl_gz(tmp_path / "app.jsonl.gz")
    assert [(r["service"], r["value"]) for r in rows] == order


def test_drops_totals_sum_per_kind(config, redis_server):
    with redis_server.client() as client:
        for writer, kind, count in (("a", "app", 3), ("b", "system", 1), ("b", "app", 4)):
            stream = keys.record_stream(config["run_id"], writer, "drops")
            client.xadd(stream, {"r": json.dumps({"kind": kind, "count": count})})
        assert drops_totals(client, config["run_id"]) == {"app": 7, "system": 1}


def test_export_command(config, redis_server, tmp_path):
    writer = MetricsWriter(config)
    writer.write("lifecycle", event="start", detail="")
    writer.close(5)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    out = tmp_path / "bundle"
    result = subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", "export", "--config", str(config_file), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(result.stdout)
    assert summary["records"]["lifecycle"] == 1 and summary["drops"] == {}
    assert len(read_jsonl_gz(out / "lifecycle.jsonl.gz")) == 1
    # The stop's way: one tar to fetch, holding every table and nothing else beside it.
    packed = tmp_path / "packed"
    subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", "export", "--config", str(config_file), "--out", str(packed),
         "--archive", "tables.tar"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [p.name for p in packed.iterdir()] == ["tables.tar"]
    with tarfile.open(packed / "tables.tar") as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    assert sorted(p.name for p in (tmp_path / "unpacked").iterdir()) == sorted(p.name for p in out.iterdir())
    assert len(read_jsonl_gz(tmp_path / "unpacked" / "lifecycle.jsonl.gz")) == 1
    # A store that cannot be read: exit 1, and no archive to fetch (the stop notes the records missing).
    failed = tmp_path / "failed"
    result = subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", "export", "--redis-host", "127.0.0.1", "--redis-port", "1",
         "--run-id", config["run_id"], "--out", str(failed), "--archive", "tables.tar"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1 and "failed" in result.stderr, result.stderr
    assert not (failed / "tables.tar").exists()
    # Without a service config: explicit store and run.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wotemu_runtime",
            "export",
            "--redis-host",
            "127.0.0.1",
            "--redis-port",
            str(redis_server.port),
            "--password-file",
            str(redis_server.password_file),
            "--run-id",
            config["run_id"],
            "--out",
            str(tmp_path / "again"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout)["records"]["lifecycle"] == 1
