"""The store role: the stack's redis-server, append-only, one ACL user per service.

The users (contract.acl) go into a generated config file (mode 0600), with their passwords as
SHA-256 hashes, not onto the command line, so that nothing of them shows in `ps`; Redis's
default user is off (no client can be it), so no connection works without one of them. Every
write is fsynced before Redis answers (`appendfsync always`): the metrics writers treat an answer
as "stored", and must not lose it if Redis is killed. Memory is bounded, and a full store refuses
writes (`noeviction`) rather than evicting records silently: the writers then keep, retry and at
last count what they could not store.
"""

import hashlib
import os
import tempfile
from pathlib import Path

import psutil

from wotemu_runtime.contract import acl
from wotemu_runtime.contract.ports import REDIS_PORT
from wotemu_runtime.metrics.system import find_cgroup, read_memory

DEFAULT_DATA_DIR = "/data"
# Of the container's memory (its limit, else the host's): the rest is Redis's own overhead and the
# fork that rewrites the append-only file.
MAXMEMORY_SHARE = 0.6


def max_memory_bytes() -> int:
    cg = find_cgroup()
    limit = read_memory(cg)[1] if cg else None
    return int(min(limit or psutil.virtual_memory().total, psutil.virtual_memory().total) * MAXMEMORY_SHARE)


def _user_line(user: str, entry: dict, run_id: str) -> str:
    digest = hashlib.sha256(Path(entry["password_file"]).read_text().strip().encode()).hexdigest()
    rules = acl.rules(user, entry["role"], run_id, entry.get("networks", []))
    return " ".join(["user", user, "reset", "on", f"#{digest}", *rules])


def redis_config(config: dict, data_dir: str) -> str:
    store = config["redis"]
    lines = [
        f"port {int(store.get('port', REDIS_PORT))}",
        "bind * -::*",
        f"dir {data_dir}",
        "appendonly yes",
        "appendfsync always",
        f"maxmemory {max_memory_bytes()}",
        "maxmemory-policy noeviction",
        # Off, so no connection is the default user; its rights are still every command because
        # Redis 7.0 checks them when it replays a transaction from the append-only file at start
        # (without them it refuses the writers' batches and starts with those records missing).
        "user default reset off ~* &* +@all",
        *(_user_line(user, entry, config["run_id"]) for user, entry in sorted(config["users"].items())),
    ]
    return "\n".join(lines) + "\n"


def exec_store(config: dict, data_dir: str = DEFAULT_DATA_DIR) -> None:
    """Replace this process with redis-server (it receives the container's signals directly)."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="wotemu-redis-", suffix=".conf")
    with os.fdopen(fd, "w") as conf_file:  # mkstemp creates it 0600
        conf_file.write(redis_config(config, data_dir))
    os.execvp("redis-server", ["redis-server", path])
