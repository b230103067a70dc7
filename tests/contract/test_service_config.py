"""The service configs: what the normaliser renders is what each container accepts, and nothing else."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.topology.test_rendering import EXAMPLES, rendered
from wotemu_runtime.config import ConfigError, load_service_config
from wotemu_runtime.contract.config import CONFIG_TARGET
from wotemu_runtime.topology.normalise import build_stack_model
from wotemu_runtime.topology.validate import validate_file

ROOT = Path(__file__).resolve().parents[2]


def service_configs(path: Path) -> list[tuple[str, dict]]:
    """(role, config) of every service of the example topology, as its config file holds it."""
    topology = validate_file(path, base_dir=ROOT)
    model = build_stack_model(topology, f"{topology.experiment.name}-20260101T000000", base_dir=ROOT)
    return [(s["role"], json.loads(s["config_file"]["content"])) for s in model["services"]]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_rendered_config_parses_as_its_role_unchanged(path, tmp_path):
    stack = yaml.safe_load(rendered(path))
    for role, config in service_configs(path):
        file = tmp_path / f"{config['service']}.json"
        file.write_text(json.dumps(config))
        assert load_service_config(str(file), role) == config, (role, config["service"])
        # ... and the stack mounts it where every container reads it by default.
        mounts = stack["services"][config["service"]]["configs"]
        assert mounts[0]["target"] == CONFIG_TARGET and mounts[0]["source"].endswith(
            hashlib.sha256((json.dumps(config, sort_keys=True, indent=2) + "\n").encode()).hexdigest()[:12]
        )


def gateway_config(**changes) -> dict:
    quickstart = ROOT / "topologies" / "quickstart.yml"
    config = next(config for role, config in service_configs(quickstart) if role == "gateway")
    return {**config, **changes}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (gateway_config(subnet=None), "subnet: Input should be a valid string (got None)"),
        (gateway_config(netem={"delay_ms": "5ms"}), "netem.delay_ms: Input should be a valid number"),
        (gateway_config(network_name="cell"), "network_name: Extra inputs are not permitted"),
        ({"run_id": "r", "stack": "s", "service": "gw"}, "redis: Field required; network: Field required"),
    ],
)
def test_a_bad_config_is_refused_with_each_key_path(config, message, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError) as raised:
        load_service_config(str(path), "gateway")
    assert str(raised.value).startswith(f"{path}: not a valid gateway config: ")
    assert message in str(raised.value)


def test_a_container_with_a_bad_config_exits_2_before_doing_anything(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**gateway_config(), "ports": {"http": 0}}))
    proc = subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", "gateway", "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "ports.http: Input should be greater than or equal to 1 (got 0)" in proc.stderr
