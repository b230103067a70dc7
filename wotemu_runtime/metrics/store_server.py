"""The store role: the stack's redis-server, append-only, with the run's password.

The password goes into a generated config file (mode 0600), not onto the command line, so that
it does not show in `ps`. Every write is fsynced before Redis answers (`appendfsync always`):
the metrics writers treat an answer as "stored", and must not lose it if Redis is killed.
"""

import os
import tempfile
from pathlib import Path

from wotemu_runtime.contract.ports import REDIS_PORT

DEFAULT_DATA_DIR = "/data"


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
