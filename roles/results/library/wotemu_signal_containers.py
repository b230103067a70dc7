#!/usr/bin/python
"""Ansible module: signal this node's running containers of a stack's services, at once.

Swarm stops a scaled-down task about 3 s after the scale-down, even one whose container would exit
at once: moby's executor first waits 2 s for the overlay network's gossip to converge. The stop
scales a wave down first (so that Swarm restarts nothing), then runs this module on every node:
the containers get their SIGTERM and flush now. Swarm's own stop still follows, and still kills a
container that outlives its grace period.
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.wotemu_engine import ENGINE_OPTION, engine_api, running_containers

DOCUMENTATION = r"""
module: wotemu_signal_containers
short_description: Send a signal to this node's running containers of a stack's services
description:
  - Finds this node's running containers of the given services of a stack and sends each the
    signal. A container that exits meanwhile is skipped; in check mode none is signalled.
options:
  stack: {description: The stack name., required: true, type: str}
  services: {description: The services (without the stack prefix)., required: true, type: list, elements: str}
  signal: {description: The signal's name., default: SIGTERM, type: str}
  timeout: {description: Seconds allowed for each call to the engine., default: 10, type: int}
  docker_host: {description: The engine's address., default: unix:///var/run/docker.sock, type: str}
requirements: [docker (the Python SDK)]
"""

RETURN = r"""
signalled:
  description: The containers signalled (or, in check mode, that would be), by id.
  returned: always
  type: list
  elements: str
"""


def signal_containers(api, stack: str, services: list[str], signum: str, check_mode: bool) -> list[str]:
    """The ids of the containers signalled (in check mode: that would be)."""
    import docker

    signalled = []
    for summary, _ in running_containers(api, stack, services):
        if not check_mode:
            try:
                api.kill(summary["Id"], signal=signum)
            except docker.errors.APIError as ex:  # it exited (or went) since it was listed
                if ex.status_code not in (404, 409):
                    raise
                continue
        signalled.append(summary["Id"])
    return signalled


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "stack": {"type": "str", "required": True},
            "services": {"type": "list", "elements": "str", "required": True},
            "signal": {"type": "str", "default": "SIGTERM"},
            "timeout": {"type": "int", "default": 10},
            **ENGINE_OPTION,
        },
        supports_check_mode=True,
    )
    params = module.params
    api = engine_api(module, timeout=params["timeout"])
    try:
        signalled = signal_containers(
            api, params["stack"], params["services"], params["signal"], module.check_mode
        )
    except Exception as ex:  # noqa: BLE001 - the engine itself cannot be reached: say so, plainly
        module.fail_json(msg=f"Cannot signal the containers of stack {params['stack']}: {type(ex).__name__}: {ex}")
    module.exit_json(changed=bool(signalled), signalled=signalled)


if __name__ == "__main__":
    main()
