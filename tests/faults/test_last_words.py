"""The stop's modules on a node's engine: the follower (roles/results/library/wotemu_last_words.py)
gets a container's last words even though the container is removed right after it exits, as Swarm
removes a scaled-down one; the signaller (wotemu_signal_containers.py) stops exactly the wave's."""

import importlib.util
import sys
import threading
import time

import docker
import pytest

from tests.conftest import ROOT, require_command
from wotemu_runtime.contract.records import UNSTORED_MARK
from wotemu_runtime.contract.versions import image_tag

STACK = "wtest-words"
LAST_WORDS = UNSTORED_MARK + '{"app": 7}'
SCRIPT = """trap 'echo "$WORDS"; exit 0' TERM; echo started; while true; do sleep 0.1; done"""


def _load(name: str, path):
    spec = importlib.util.spec_from_file_location(name, path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def module(name: str = "wotemu_last_words"):
    """The module as Ansible ships it: with its role's module_utils under ansible.module_utils."""
    role = ROOT / "roles" / "results"
    _load("ansible.module_utils.wotemu_engine", role / "module_utils" / "wotemu_engine.py")
    return _load(name, role / "library" / f"{name}.py")


def _labelled(client: docker.DockerClient, service: str, **run):
    """A container labelled as a task of the stack's `service` (the labels the stop's modules read)."""
    labels = {"com.docker.stack.namespace": STACK, "com.docker.swarm.service.name": f"{STACK}_{service}"}
    name = f"{STACK}-{service}"
    return client.containers.run(
        image_tag(), ["-c", SCRIPT], entrypoint="sh", labels=labels, detach=True, name=name, **run
    )


@pytest.mark.docker
def test_last_words_of_a_container_removed_as_it_exits():
    require_command("docker")
    client = docker.from_env()
    container = _labelled(client, "reader", environment={"WORDS": LAST_WORDS})
    try:
        found = {}
        api = docker.APIClient(timeout=None)
        follower = threading.Thread(
            target=lambda: found.update(module().last_words(api, STACK, ["reader"], 20, 60))
        )
        follower.start()
        time.sleep(1.0)  # the follower has attached
        container.stop(timeout=5)
        container.remove()  # gone, log and all, as Swarm does soon after
        follower.join(30)
    finally:
        container.remove(force=True) if container.id in {
            c.id for c in client.containers.list(all=True)
        } else None
    (entry,) = found.values()
    assert entry["service"] == "reader" and entry["error"] is None
    assert entry["lines"][-1] == LAST_WORDS


@pytest.mark.docker
def test_the_signaller_stops_the_waves_containers_and_no_other():
    require_command("docker")
    client = docker.from_env()
    wave, store = _labelled(client, "reader"), _labelled(client, "redis")
    try:
        signaller = module("wotemu_signal_containers")
        api = docker.APIClient(timeout=10)
        assert signaller.signal_containers(api, STACK, ["reader"], "SIGTERM", check_mode=True) == [wave.id]
        wave.reload()
        assert wave.status == "running"  # check mode signals nothing
        assert signaller.signal_containers(api, STACK, ["reader"], "SIGTERM", check_mode=False) == [wave.id]
        assert wave.wait(timeout=10)["StatusCode"] == 0  # its TERM trap ran: a clean exit
        store.reload()
        assert store.status == "running"
        assert signaller.signal_containers(api, STACK, ["reader"], "SIGTERM", check_mode=False) == []
    finally:
        for container in (wave, store):
            container.remove(force=True)
