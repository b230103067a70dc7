"""The store's memory is bounded and a full store refuses writes: no record is evicted, and what
the writer could not store is counted, never lost silently."""

import subprocess

import redis

from wotemu_runtime.contract import keys
from wotemu_runtime.metrics import store_server
from wotemu_runtime.metrics.writer import MetricsWriter
from wotemu_testbench.services import free_port, stop, wait_port

BOUND = 3 * 1024**2


def test_a_full_store_refuses_and_the_writer_counts_what_it_could_not_store(tmp_path, monkeypatch):
    monkeypatch.setattr(store_server, "max_memory_bytes", lambda: BOUND)
    password = tmp_path / "password"
    password.write_text("secret\n")
    redis_at = {"host": "127.0.0.1", "port": free_port(), "password_file": str(password)}
    store = {"run_id": "full", "stack": "t", "service": "redis", "redis": {**redis_at, "user": "redis"}}
    store["users"] = {
        "redis": {"role": "store", "password_file": str(password)},
        "unit": {"role": "node", "password_file": str(password)},
    }
    config = {"run_id": "full", "stack": "t", "service": "unit", "redis": {**redis_at, "user": "unit"}}
    conf = store_server.redis_config(store, str(tmp_path))
    assert "maxmemory-policy noeviction\n" in conf and f"maxmemory {BOUND}\n" in conf
    (tmp_path / "redis.conf").write_text(conf)
    server = subprocess.Popen(["redis-server", str(tmp_path / "redis.conf")], stdout=subprocess.DEVNULL)
    try:
        wait_port(config["redis"]["port"])
        writer = MetricsWriter(config, batch_max=20, flush_interval_s=0.05, max_backoff_s=0.2)
        for index in range(500):  # 5 MB of records for a 3 MB store
            writer.write("app", metric="m", value=index, data={"pad": "x" * 10_000})
        unstored = writer.close(3)
        client = redis.Redis(port=config["redis"]["port"], username="redis", password="secret")
        stored = client.xlen(keys.record_stream("full", "unit", "app"))
        assert unstored > 0 and stored > 0
        assert stored + unstored == 500  # nothing evicted, nothing uncounted
    finally:
        stop(server)
