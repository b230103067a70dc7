"""Fixtures for the metrics tests: a real, password-protected, append-only redis-server."""

import pytest

from wotemu_testbench.services import RedisServer


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def config(redis_server, request) -> dict:
    return {
        "run_id": f"test-{request.node.name}",
        "stack": "test",
        "service": "unit",
        "redis": redis_server.config(),
    }
