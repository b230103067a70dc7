#!/usr/bin/python
"""Ansible module: a run's Docker secrets (its Redis passwords), all made or all removed in one call.

community.docker.docker_secret handles one secret per task, and a loop of them cost about a second
per secret on the deploy and again on the stop (a run has one per service). This module does the
same through the same Docker SDK, for all of a run's secrets at once.
"""

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: wotemu_secrets
short_description: Create or remove several Docker Swarm secrets in one call
description:
  - With O(state=present), creates each secret of O(secrets) that does not exist yet (a secret's
    data cannot change once made: an existing one is left as it is).
  - With O(state=absent), removes each of O(names) that exists.
options:
  secrets: {description: Name to data; for O(state=present)., type: dict, default: {}, no_log: true}
  names: {description: The names to remove; for O(state=absent)., type: list, elements: str, default: []}
  state: {description: Whether they should exist., type: str, choices: [present, absent], default: present}
  docker_host: {description: The engine's address., type: str, default: unix:///var/run/docker.sock}
  timeout: {description: Seconds one call to the engine may take., type: int, default: 60}
requirements: [docker (the Python SDK)]
"""

RETURN = r"""
changed_names:
  description: The secrets created or removed.
  returned: always
  type: list
  elements: str
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "secrets": {"type": "dict", "default": {}, "no_log": True},
            "names": {"type": "list", "elements": "str", "default": []},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "docker_host": {"type": "str", "default": "unix:///var/run/docker.sock"},
            "timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        import docker
    except ImportError:
        module.fail_json(msg="The Docker SDK for Python (`docker`) is not installed in this node's Python")
    wanted = list(params["secrets"]) if params["state"] == "present" else params["names"]
    try:
        api = docker.APIClient(base_url=params["docker_host"], timeout=params["timeout"])
        existing = {secret["Spec"]["Name"]: secret["ID"] for secret in api.secrets()}
        if params["state"] == "present":
            changed = [name for name in wanted if name not in existing]
            for name in [] if module.check_mode else changed:
                api.create_secret(name, params["secrets"][name].encode())
        else:
            changed = [name for name in wanted if name in existing]
            for name in [] if module.check_mode else changed:
                api.remove_secret(existing[name])
    except docker.errors.DockerException as ex:
        verb = "create" if params["state"] == "present" else "remove"
        module.fail_json(msg=f"Cannot {verb} the secrets: {ex}")
    module.exit_json(changed=bool(changed), changed_names=changed)


if __name__ == "__main__":
    main()
