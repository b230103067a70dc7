"""Real redis-server and mosquitto processes for the tests and benches: free high ports, a temp dir,
killed by pid."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from wotemu_runtime.metrics.export import iter_records


def require_command(name: str) -> None:
    """A missing server is an error (never a skip): the tests and benches cannot run without it."""
    if shutil.which(name) is None:
        raise RuntimeError(f"prerequisite missing: {name} is not on PATH (run `make setup` or `.ci/run`)")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """Terminate one process we started (by its pid), killing it if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


class RedisServer:
    """A password-protected, append-only redis-server as the store role configures it."""

    def __init__(self, directory: Path):
        require_command("redis-server")
        self.dir = directory
        self.port = free_port()
        self.password_file = directory / "redis_password"
        self.password_file.write_text("test-secret\n")
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        conf = self.dir / "redis.conf"
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\nappendonly yes\nappendfsync always\n"
            f'requirepass "test-secret"\nsave ""\n'
        )
        with open(self.dir / "redis.log", "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(["redis-server", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port)
        client = self.client()
        deadline = time.monotonic() + 10
        while True:  # the port opens before the append-only file is loaded
            try:
                client.ping()
                break
            except redis.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown save, only what the append-only file already holds survives."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def config(self) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "password_file": str(self.password_file)}

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password="test-secret")

    def records(self, run_id: str, kind: str) -> list[dict]:
        return [json.loads(raw) for raw in iter_records(self.client(), run_id, kind)]


class Mosquitto:
    def __init__(self, directory: Path):
        require_command("mosquitto")
        from wotemu_runtime.node.broker import mosquitto_config

        self.port = free_port()
        conf = directory / "mosquitto.conf"
        conf.write_text(mosquitto_config(self.port))
        with open(directory / "mosquitto.log", "ab") as log:
            self.process = subprocess.Popen(
                ["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_port(self.port)

    def stop(self) -> None:
        stop(self.process)


def service_config(redis_server: RedisServer, run_id: str, service: str, **extra) -> dict:
    """A service config as the topology normaliser renders it, on localhost and free high ports."""
    return {
        "run_id": run_id,
        "stack": "test",
        "service": service,
        "redis": redis_server.config(),
        "seed": 42,
        "ports": {
            "catalogue": free_port(),
            "http": free_port(),
            "ws": free_port(),
            "coap": free_port(socket.SOCK_DGRAM),
            "mqtt": 1883,
        },
        "networks": [],
        "hostname": "127.0.0.1",
        "broker": None,
        "extra_ports": {"tcp": [], "udp": []},
        "system_period_s": 1.0,
        **extra,
    }


def node_env(task: str) -> dict:
    return {**os.environ, "WOTEMU_TASK": task}
