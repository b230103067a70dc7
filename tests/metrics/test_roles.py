"""The store and broker roles as real processes."""

import json
import signal
import subprocess
import sys
import time

from tests.conftest import require_command
from wotemu_testbench.services import free_port, wait_port


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
