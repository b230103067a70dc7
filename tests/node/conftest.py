"""Fixtures for the node runtime tests: a real Redis, a real mosquitto, real node processes."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wotemu_testbench.services import Mosquitto, RedisServer, node_env, service_config, stop


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory):
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


class Nodes:
    """Starts `python -m wotemu_runtime node` processes; stops each by its pid at teardown."""

    def __init__(self, redis_server: RedisServer, directory: Path, run_id: str):
        self.redis = redis_server
        self.dir = directory
        self.run_id = run_id
        self.processes: list[subprocess.Popen] = []

    def config(self, service: str, app: dict, **extra) -> dict:
        return service_config(self.redis, self.run_id, service, app=app, **extra)

    def start(self, config: dict, task: str | None = None) -> subprocess.Popen:
        path = self.dir / f"{config['service']}.json"
        path.write_text(json.dumps(config))
        # Output goes to files, not pipes: nobody reads a pipe while the node runs, and a full one blocks it.
        log_path = self.dir / f"{config['service']}.log"
        with open(log_path, "w") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, "-m", "wotemu_runtime", "node", "--config", str(path)],
                env=node_env(task or f"{config['service']}.1"),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process.log_path = log_path
        self.processes.append(process)
        return process

    @staticmethod
    def output(process: subprocess.Popen) -> str:
        return Path(process.log_path).read_text()

    def records(self, kind: str) -> list[dict]:
        return self.redis.records(self.run_id, kind)

    def wait_for(self, predicate, kind: str, timeout: float = 30.0) -> list[dict]:
        """Poll Redis until `predicate(records of kind)` holds; return those records."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.records(kind)
            if predicate(records):
                return records
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting on {kind} records; have {len(records)}: {records[-5:]}")
            time.sleep(0.2)

    def stop_all(self) -> None:
        for process in self.processes:
            stop(process)


@pytest.fixture
def nodes(redis_server, tmp_path, request):
    run_id = f"test-{request.node.name}".replace("[", "-").replace("]", "")
    registry = Nodes(redis_server, tmp_path, run_id)
    yield registry
    registry.stop_all()
