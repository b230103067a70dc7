"""Loading the service config that the topology normaliser renders into each container."""

import json
import os
from pathlib import Path

ENV_CONFIG = "WOTEMU_CONFIG"


class ConfigError(Exception):
    """The service config is missing or unreadable."""


def load_service_config(path: str | None = None) -> dict:
    """Read the service config from `path` (a JSON file) or from $WOTEMU_CONFIG."""
    if path:
        try:
            text = Path(path).read_text()
        except OSError as ex:
            raise ConfigError(f"{path}: cannot read the service config: {ex.strerror}") from ex
        source = path
    elif os.environ.get(ENV_CONFIG):
        text, source = os.environ[ENV_CONFIG], f"${ENV_CONFIG}"
    else:
        raise ConfigError(f"no service config: pass --config FILE or set ${ENV_CONFIG}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as ex:
        raise ConfigError(f"{source}: not valid JSON: {ex}") from ex
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the service config must be a JSON object")
    return config


def task_name(config: dict) -> str:
    """The Swarm task name (set by the stack), or the host name outside Swarm."""
    return os.environ.get("WOTEMU_TASK") or os.uname().nodename
