#!/usr/bin/python
"""Ansible module: this node's containers of a stack's Swarm tasks, each with its times and log tail.

It reads every container from the node's own engine, one bounded call at a time, instead of
`docker service logs`: that goes through the swarm's log broker, which was seen to stream a
91-replica service's tail and then never return. A container whose read fails or runs out of
the time budget is listed with its error, never silently left out.
"""

import time
from datetime import UTC, datetime

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.wotemu_engine import ENGINE_OPTION, STACK_LABEL, TASK_LABEL, engine_api

DOCUMENTATION = r"""
module: wotemu_task_containers
short_description: Read the times and log tail of a stack's task containers on this node
description:
  - Lists the containers labelled with the stack's namespace (running and stopped), inspects each
    and reads the last lines of its log through the engine's API, each call bounded by O(timeout)
    and the whole by O(budget).
options:
  stack: {description: The stack name., required: true, type: str}
  tail: {description: Log lines kept per container., default: 60, type: int}
  timeout: {description: Seconds allowed for each call to the engine., default: 10, type: int}
  budget: {description: Seconds allowed for all the containers together., default: 120, type: int}
  docker_host: {description: The engine's address., default: unix:///var/run/docker.sock, type: str}
requirements: [docker (the Python SDK)]
"""

RETURN = r"""
containers:
  description: One entry per task container, keyed by Swarm task id.
  returned: always
  type: dict
  sample:
    {"k3x...": {"container": "9f2...", "created_at": "...", "started_at": "...", "finished_at": "...",
                "exit_code": 0, "oom_killed": false, "logs_tail": ["2026-... line"], "error": null}}
"""

def _read(api, summary: dict, tail: int) -> dict:
    state = api.inspect_container(summary["Id"])["State"]
    text = api.logs(summary["Id"], stdout=True, stderr=True, timestamps=True, tail=tail)
    return {
        "started_at": state.get("StartedAt"),
        "finished_at": state.get("FinishedAt"),
        "exit_code": state.get("ExitCode"),
        "oom_killed": state.get("OOMKilled"),
        "logs_tail": text.decode("utf-8", "replace").splitlines()[-tail:],
    }


def task_containers(api, stack: str, tail: int, budget: float) -> dict:
    deadline = time.monotonic() + budget
    found = {}
    for summary in api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"}):
        task = summary["Labels"].get(TASK_LABEL)
        if task is None:
            continue  # not a Swarm task's container (a one-off container of the stack's name)
        created = datetime.fromtimestamp(summary["Created"], UTC).isoformat()
        entry = {"container": summary["Id"], "created_at": created, "logs_tail": [], "error": None}
        if time.monotonic() > deadline:
            entry["error"] = f"not read: the {budget:.0f} s budget for this node's containers was spent"
        else:
            try:
                entry.update(_read(api, summary, tail))
            except Exception as ex:  # noqa: BLE001 - any failure of one container is that container's
                entry["error"] = f"{type(ex).__name__}: {ex}"
        found[task] = entry
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "stack": {"type": "str", "required": True},
            "tail": {"type": "int", "default": 60},
            "timeout": {"type": "int", "default": 10},
            "budget": {"type": "int", "default": 120},
            **ENGINE_OPTION,
        },
        supports_check_mode=True,  # it only reads
    )
    params = module.params
    try:
        api = engine_api(module, timeout=params["timeout"])
        containers = task_containers(api, params["stack"], params["tail"], params["budget"])
    except Exception as ex:  # noqa: BLE001 - the engine itself cannot be read: say so, plainly
        module.fail_json(
            msg=f"Cannot list the containers of stack {params['stack']}: {type(ex).__name__}: {ex}"
        )
    module.exit_json(changed=False, containers=containers)


if __name__ == "__main__":
    main()
