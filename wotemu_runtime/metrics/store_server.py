"""The store role: the stack's redis-server, append-only, with the run's password.

The password goes into a generated config file (mode 0600), not onto the command line, so that
it does not show in `ps`. Every write is fsynced before Redis answers (`appendfsync always`):
the metrics writers treat an answer as "stored", and must not lose it if Redis is killed.
Memory is bounded, and a full store refuses writes (`noeviction`) rather than evicting records
silently: the writers then keep, retry and at last count what they could not store.
"""

import os
import tempfile
from pathlib import Path

import psutil

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


def redis_config(config: dict, data_dir: str) -> str:
    store = config["redis"]
    password = Path(store["password_file"]).read_text().strip()
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')  # redis.conf string escapes
    lines = [
        f"port {int(store.get('port', REDIS_PORT))}",
        "bind * -::*",
        f"dir {data_dir}",
        "appendonly yes",
        "appendfsync always",
        f"maxmemory {max_memory_bytes()}",
        "maxmemory-policy noeviction",
        f'requirepass "{quoted}"',
    ]
    return "\n".join(lines) + "\n"


def exec_store(config: dict, data_dir: str = DEFAULT_DATA_DIR) -> None:
    """Replace this process with redis-server (it receives the container's signals directly)."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="wotemu-redis-", suffix=".conf")
    with os.fdopen(fd, "w") as conf_file:  # mkstemp creates it 0600
        conf_file.write(redis_config(config, data_dir))
    os.execvp("redis-server", ["redis-server", path])
