"""The stop's follower (roles/results/library/wotemu_last_words.py) gets a container's last words
even though the container is removed right after it exits, as Swarm removes a scaled-down one."""

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


def module():
    """The module as Ansible ships it: with its role's module_utils under ansible.module_utils."""
    role = ROOT / "roles" / "results"
    _load("ansible.module_utils.wotemu_engine", role / "module_utils" / "wotemu_engine.py")
    return _load("wotemu_last_words", role / "library" / "wotemu_last_words.py")


@pytest.mark.docker
def test_last_words_of_a_container_removed_as_it_exits():
    require_command("docker")
    client = docker.from_env()
    labels = {"com.docker.stack.namespace": STACK, "com.docker.swarm.service.name": f"{STACK}_reader"}
    container = client.containers.run(
        image_tag(),
        ["-c", SCRIPT],
        entrypoint="sh",
        labels=labels,
        environment={"WORDS": LAST_WORDS},
        detach=True,
        name=f"{STACK}-reader",
    )
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
