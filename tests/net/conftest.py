"""Fixtures for the network-plane tests: real namespaces, a real Redis, the real gateway."""

import os

import pytest

from tests.conftest import require_command, require_root
from wotemu_testbench.lab import Lab


def require_lab() -> None:
    require_root()
    require_command("iptables", "redis-server")


@pytest.fixture(scope="module")
def lab():
    """A fresh A — gateway — B lab on the host kernel, removed (namespaces, processes) afterwards."""
    require_lab()
    with Lab(f"wtn{os.getpid() % 100000}") as built:
        yield built
