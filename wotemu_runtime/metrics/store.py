"""Connecting to the stack's Redis with the per-run password."""

from pathlib import Path

import redis


def key(config: dict, *parts: str) -> str:
    """A Redis key of this run: wotemu:<run_id>:<parts...>."""
    return ":".join(("wotemu", config["run_id"], *parts))


def connect(config: dict, **kwargs) -> redis.Redis:
    """A client for the store described by config["redis"]; connects lazily."""
    store = config["redis"]
    password = None
    if store.get("password_file"):
        password = Path(store["password_file"]).read_text().strip()
    elif store.get("password"):
        password = store["password"]
    return redis.Redis(
        host=store["host"],
        port=int(store.get("port", 6379)),
        password=password,
        socket_timeout=5,
        socket_connect_timeout=5,
        **kwargs,
    )
