"""The store and broker roles as real processes."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.conftest import require_command
from wotemu_testbench.services import free_port, stop, wait_port


def test_store_runs_redis_append_only_with_the_password_hidden(tmp_path):
    require_command("redis-server")
    port = free_port()
    secret = tmp_path / "secret"
    secret.write_text("s3cret-value\n")
    config = {
        "run_id": "r",
        "stack": "t",
        "service": "redis",
        "redis": {"host": "127.0.0.1", "port": port, "password_file": str(secret)},
    }
    (tmp_path / "store.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wotemu_runtime",
            "store",
            "--config",
            str(tmp_path / "store.json"),
            "--dir",
            str(tmp_path / "data"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        client = redis.Redis(host="127.0.0.1", port=port, password="s3cret-value")
        client.set("k", "v")
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
        try:
            redis.Redis(host="127.0.0.1", port=port).ping()
            raise AssertionError("Redis answered without the password")
        except redis.AuthenticationError:
            pass
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"s3cret" not in cmdline and b"redis-server" in cmdline  # exec'd, password not in ps
    finally:
        stop(process)


def test_broker_serves_mqtt_and_stops_cleanly_on_sigterm(tmp_path):
    require_command("mosquitto", "redis-server")
    from wotemu_testbench.services import RedisServer

    store = RedisServer(tmp_path).start()
    try:
        port = free_port()
        config = {
            "run_id": "broker-run",
            "stack": "t",
            "service": "broker",
            "redis": store.config(),
            "ports": {"mqtt": port},
            "networks": [],
            "system_period_s": 0.5,
        }
        (tmp_path / "broker.json").write_text(json.dumps(config))
        process = subprocess.Popen(
            [sys.executable, "-m", "wotemu_runtime", "broker", "--config", str(tmp_path / "broker.json")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(port)
        time.sleep(1.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        events = [r["event"] for r in store.records("broker-run", "lifecycle")]
        assert events == ["start", "ready", "exit"]
        assert len(store.records("broker-run", "system")) >= 2
        assert store.records("broker-run", "info")[0]["role"] == "broker"
    finally:
        store.stop()
