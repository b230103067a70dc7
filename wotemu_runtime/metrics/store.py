"""Connecting to the stack's Redis as the service's own ACL user, with its per-run password."""

from pathlib import Path

import redis

from wotemu_runtime.contract.ports import REDIS_PORT


def connect(config: dict, **kwargs) -> redis.Redis:
    """A client for the store described by config["redis"]; connects lazily."""
    store = config["redis"]
    password = None
    if store.get("password_file"):
        password = Path(store["password_file"]).read_text().strip()
    return redis.Redis(
        host=store["host"],
        port=int(store.get("port", REDIS_PORT)),
        username=store.get("user"),
        password=password,
        socket_timeout=5,
        socket_connect_timeout=5,
        **kwargs,
    )
