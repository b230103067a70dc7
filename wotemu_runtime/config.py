"""Loading the service config that the topology normaliser renders into each container.

pydantic and the contract's models are imported by load_service_config only: a node checks its
config in a short-lived child (wotemu_runtime/node/commands.py), so that those ~10 MB never
weigh on a replica, and task_name() is imported by every role without them.
"""

import json
import os
from pathlib import Path


class ConfigError(Exception):
    """The service config is missing, unreadable or not what its role takes."""


def load_service_config(path: str | None, role: str) -> dict:
    """Read the service config from `path` (a JSON file; default: the one the stack mounts at
    contract.config.CONFIG_TARGET) and check it against its role's model (contract.config);
    returned with the model's defaults filled in."""
    from pydantic import ValidationError

    from wotemu_runtime.contract.config import CONFIG_TARGET, ROLE_CONFIGS

    source = path or CONFIG_TARGET
    if not path and not Path(CONFIG_TARGET).exists():
        raise ConfigError(f"no service config: pass --config FILE or mount one at {CONFIG_TARGET}")
    try:
        text = Path(source).read_text()
    except OSError as ex:
        raise ConfigError(f"{source}: cannot read the service config: {ex.strerror}") from ex
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
