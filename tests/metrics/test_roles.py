"""The store and broker roles as real processes."""

import asyncio
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from amqtt.client import MQTTClient
from amqtt.errors import AMQTTError
from amqtt.mqtt.constants import QOS_1

from tests.conftest import require_command
from wotemu_testbench.services import free_port, wait_port


async def round_trip(port: int) -> bytes:
    """A real MQTT client (amqtt, which WoTPy's MQTT binding uses) subscribes, publishes and
    receives its own message through the broker."""
    client = MQTTClient(client_id="wotemu-broker-test", config={"auto_reconnect": False})
    await client.connect(f"mqtt://127.0.0.1:{port}/")
    try:
        await client.subscribe([("wotemu/test", QOS_1)])
        await client.publish("wotemu/test", b"hello", qos=QOS_1)
        message = await client.deliver_message(timeout_duration=10)
        return message.data
    finally:
        await client.disconnect()


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
        assert asyncio.run(round_trip(port)) == b"hello"
        time.sleep(1.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        events = [r["event"] for r in store.records("broker-run", "lifecycle")]
        assert events == ["start", "ready", "exit"]
        assert len(store.records("broker-run", "system")) >= 2
        assert store.records("broker-run", "info")[0]["role"] == "broker"
    finally:
        store.stop()


def test_the_mqtt_round_trip_fails_on_a_port_that_does_not_speak_mqtt():
    """What the broker test proves: an open port is not enough, the client must get its message."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer_http():
        connection, _ = server.accept()
        connection.recv(1024)
        connection.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
        connection.close()

    thread = threading.Thread(target=answer_http)
    thread.start()
    try:
        with pytest.raises(AMQTTError):
            asyncio.run(round_trip(server.getsockname()[1]))
    finally:
        thread.join(5)
        server.close()
