#!/usr/bin/python
"""Ansible module: the last log lines of a stack's task containers on this node, read as they stop.

A writer that could not store its records says so on its log as it exits (`records not stored:`).
Scaling a service down removes its stopped containers soon after, and their logs with them, so
the stop runs this module before it scales a wave down: it opens a following log stream on each
of the wave's running containers first, and each stream ends, with everything the container
printed, when the container exits. Run with `async` around the scale-down and the wait.
"""

import threading
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.wotemu_engine import ENGINE_OPTION, TASK_LABEL, engine_api, running_containers

DOCUMENTATION = r"""
module: wotemu_last_words
short_description: Follow the logs of a stack's services' containers on this node until they exit
description:
  - Finds this node's running containers of the given services of a stack, follows each one's log
    until the container exits or O(budget) runs out, and returns each container's last O(tail)
    lines. A container whose stream fails or outlives the budget is listed with its error.
options:
  stack: {description: The stack name., required: true, type: str}
  services: {description: The services (without the stack prefix) to follow., required: true, type: list, elements: str}
  tail: {description: Last lines kept per container., default: 20, type: int}
  budget: {description: Seconds the streams may stay open., default: 150, type: int}
  docker_host: {description: The engine's address., default: unix:///var/run/docker.sock, type: str}
requirements: [docker (the Python SDK)]
"""

RETURN = r"""
containers:
  description: One entry per followed container, keyed by container id.
  returned: always
  type: dict
  sample: {"9f2...": {"service": "reader", "task": "k3x...", "lines": ["... records not stored: {}"], "error": null}}
"""

def _follow(api, container: str, tail: int, entry: dict) -> None:
    try:
        text = b"".join(api.logs(container, stdout=True, stderr=True, stream=True, follow=True))
        entry["lines"] = text.decode("utf-8", "replace").splitlines()[-tail:]
    except Exception as ex:  # noqa: BLE001 - any failure of one stream is that container's
        entry["error"] = f"{type(ex).__name__}: {ex}"


def last_words(api, stack: str, services: list[str], tail: int, budget: float) -> dict:
    found, threads = {}, []
    for summary, service in running_containers(api, stack, services):
        entry = {"service": service, "task": summary["Labels"].get(TASK_LABEL), "lines": [], "error": None}
        found[summary["Id"]] = entry
        # One thread per stream: the streams end when their containers exit, in any order.
        thread = threading.Thread(target=_follow, args=(api, summary["Id"], tail, entry), daemon=True)
        thread.start()
        threads.append((thread, entry))
    deadline = time.monotonic() + budget
    for thread, entry in threads:
        thread.join(max(deadline - time.monotonic(), 0))
        if thread.is_alive():
            entry["error"] = f"still running after {budget:.0f} s"
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "stack": {"type": "str", "required": True},
            "services": {"type": "list", "elements": "str", "required": True},
            "tail": {"type": "int", "default": 20},
            "budget": {"type": "int", "default": 150},
            **ENGINE_OPTION,
        },
        supports_check_mode=True,  # it only reads
    )
    params = module.params
    try:
        # No read timeout: a following stream is silent until its container prints or exits.
        api = engine_api(module, timeout=None)
        api.ping()
        containers = last_words(api, params["stack"], params["services"], params["tail"], params["budget"])
    except Exception as ex:  # noqa: BLE001 - the engine itself cannot be read: say so, plainly
        module.fail_json(msg=f"Cannot follow the containers of stack {params['stack']}: {type(ex).__name__}: {ex}")
    module.exit_json(changed=False, containers=containers)


if __name__ == "__main__":
    main()
