"""The provision and build-image phases on this machine (inventory/local.yml), through the real playbooks."""

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, require_command, run_playbook

PLAYBOOKS = ["run-experiment.yml", *sorted(f"playbooks/{p.name}" for p in (ROOT / "playbooks").glob("*.yml"))]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(playbook):
    run_playbook(playbook, "--syntax-check")


def test_vagrantfile_validates():
    require_command("vagrant")
    proc = subprocess.run(
        ["vagrant", "validate", "--ignore-provider"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.docker
def test_provision_is_idempotent_and_the_inventory_owns_the_labels():
    run_playbook("playbooks/provision.yml")  # the first run may init the swarm
    node = docker("info", "--format", "{{.Swarm.NodeID}}").strip()
    docker("node", "update", "--label-add", "wotemu_test_stale=1", node)

    run_playbook("playbooks/provision.yml")
    recap = run_playbook("playbooks/provision.yml")

    assert recap["localhost"]["changed"] == 0, recap
    swarm = docker("info", "--format", "{{.Swarm.LocalNodeState}} manager={{.Swarm.ControlAvailable}}")
    assert swarm.split() == ["active", "manager=true"]
    labels = json.loads(docker("node", "inspect", node, "--format", "{{json .Spec.Labels}}"))
    assert "wotemu_test_stale" not in labels
    assert {"arch", "cpus", "mem_mb"} <= set(labels)


@pytest.mark.docker
def test_image_build_is_idempotent(runtime_image):
    recap = run_playbook("playbooks/build-image.yml")
    assert recap["localhost"]["changed"] == 0, recap


@pytest.mark.docker
def test_image_runs_the_runtime(runtime_image):
    help_text = docker_run(runtime_image, "--help")
    assert "usage: wotemu" in help_text
    modules = "wotpy, pyroute2, redis, redis.asyncio, psutil, pydantic, yaml, wotemu_runtime.net.userspace"
    imports = f"import {modules}; print('ok')"
    assert docker_run(runtime_image, "-c", imports, entrypoint="python3").strip() == "ok"
    tools = (
        "for c in tc iptables mosquitto redis-server; do command -v $c >/dev/null || echo missing $c; done"
    )
    assert docker_run(runtime_image, "-c", tools, entrypoint="sh") == ""


@pytest.mark.docker
def test_image_is_small_and_has_no_build_tools(runtime_image):
    assert int(docker("image", "inspect", runtime_image, "--format", "{{.Size}}")) <= 350 * 10**6
    assert docker_run(runtime_image, "-c", "command -v gcc cc pip || true", entrypoint="sh") == ""


# Every distribution a Python sees, with its version.
DISTRIBUTIONS = (
    "import importlib.metadata as m, json\n"
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))\n"
)
VENV_TOOLS = {"pip", "setuptools", "wheel"}  # the venv's own, not the project's


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _not_as_locked(distributions: dict[str, str]) -> dict[str, str]:
    """The distributions that constraints.txt does not pin at the version installed."""
    lock = dict(
        (_canonical(name), version)
        for name, _, version in (
            line.partition("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
        )
        if version
    )
    return {
        name: version
        for name, version in distributions.items()
        if _canonical(name) not in VENV_TOOLS | {"wotemu"} and lock.get(_canonical(name)) != version
    }


def test_the_venv_installs_the_lock():
    proc = subprocess.run([sys.executable, "-c", DISTRIBUTIONS], capture_output=True, text=True, check=True)
    assert _not_as_locked(json.loads(proc.stdout)) == {}


@pytest.mark.docker
def test_the_image_installs_the_lock(runtime_image):
    assert (
        _not_as_locked(json.loads(docker_run(runtime_image, "-c", DISTRIBUTIONS, entrypoint="python3"))) == {}
    )


def docker_run(image: str, *args: str, entrypoint: str | None = None) -> str:
    cmd = ["docker", "run", "--rm", "--network", "none"]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    proc = subprocess.run([*cmd, image, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def docker(*args: str) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
