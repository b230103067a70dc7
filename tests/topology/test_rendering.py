"""Golden stack files for the example topologies, each accepted by `docker stack config`.

Regenerate the golden files after an intended change with WOTEMU_UPDATE_GOLDEN=1.
"""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_command
from wotemu_runtime.topology.normalise import build_stack_model
from wotemu_runtime.topology.render import render_stack
from wotemu_runtime.topology.validate import validate_file

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted((ROOT / "topologies").glob("*.yml"))


def rendered(path: Path) -> str:
    topology = validate_file(path, base_dir=ROOT)
    text = render_stack(
        build_stack_model(topology, f"{topology.experiment.name}-20260101T000000", base_dir=ROOT)
    )
    return text.replace(str(ROOT), "{ROOT}")  # golden files must not depend on the checkout's location


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_golden_stack(path: Path):
    golden = GOLDEN / f"{path.stem}.stack.yml"
    text = rendered(path)
    if os.environ.get("WOTEMU_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden}; run with WOTEMU_UPDATE_GOLDEN=1"
    assert text == golden.read_text()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_docker_accepts_the_stack(path: Path, tmp_path: Path):
    require_command("docker")
    stack_file = tmp_path / "stack.yml"
    stack_file.write_text(rendered(path).replace("{ROOT}", str(ROOT)))
    result = subprocess.run(
        ["docker", "stack", "config", "-c", str(stack_file)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for service in services.values():
        assert not any("docker.sock" in str(v) for v in service.get("volumes", []))  # never the Docker socket
        assert "ports" not in service  # nothing published on the host, Redis included
        assert set(service.get("cap_add", [])) <= {"NET_ADMIN", "NET_RAW"}
