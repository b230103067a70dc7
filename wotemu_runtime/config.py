"""Loading the service config that the topology normaliser renders into each container."""

import json
import os
from pathlib import Path

from pydantic import ValidationError

from wotemu_runtime.contract.config import ROLE_CONFIGS

ENV_CONFIG = "WOTEMU_CONFIG"


class ConfigError(Exception):
    """The service config is missing, unreadable or not what its role takes."""


def load_service_config(path: str | None, role: str) -> dict:
    """Read the service config from `path` (a JSON file) or from $WOTEMU_CONFIG and check it against
    its role's model (contract.config); returned with the model's defaults filled in."""
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
    try:
        return ROLE_CONFIGS[role].model_validate(config).model_dump(mode="json")
    except ValidationError as ex:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or '(config)'}: {error['msg']}"
            + ("" if error["type"] == "missing" else f" (got {error['input']!r})")
            for error in ex.errors()
        )
        raise ConfigError(f"{source}: not a valid {role} config: {problems}") from None


def task_name() -> str:
    """The Swarm task name (set by the stack), or the host name outside Swarm."""
    return os.environ.get("WOTEMU_TASK") or os.uname().nodename
