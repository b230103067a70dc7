"""Ansible module: a `wotemu` command run in whichever container runs the stack's store right now.

community.docker.docker_container_exec needs a container id fixed when the task starts, but Swarm
replaces the store's container when it dies (a restart is a new task): a retried task must look the
container up again on every attempt, which is what this module does.
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import docker
except ImportError:
    docker = None

DOCUMENTATION = r"""
module: wotemu_store_command
short_description: Run a C(wotemu) command in the current container of a run's store service
description:
  - Finds the running container of the Swarm service (on this manager) and runs
    C(python3 -m wotemu_runtime ARGV...) in it (C(status), C(window)...).
  - While no container answers (the store is being replaced), tries again for up to O(wait) seconds.
options:
  service:
    description: Swarm service name of the store (C(<stack>_redis)).
    type: str
    required: true
  argv:
    description: The command's arguments after C(python3 -m wotemu_runtime).
    type: list
    elements: str
    default: [status]
  wait:
    description: Seconds to keep trying while no container answers.
    type: float
    default: 0
requirements: [docker (the Docker SDK for Python)]
"""

RETURN = r"""
rc: {description: Exit code of the command (1 when no container ran it), type: int, returned: always}
stdout: {description: What the command printed (status prints a JSON document), type: str, returned: always}
stderr: {description: Why the command failed or could not run, type: str, returned: always}
container: {description: Id of the container asked, type: str, returned: when one was found}
"""

COMMAND = ["python3", "-m", "wotemu_runtime"]


def ask(client, service: str, argv: list[str]) -> dict:
    try:
        containers = client.containers.list(
            filters={"label": f"com.docker.swarm.service.name={service}", "status": "running"}
        )
        if not containers:
            return {"rc": 1, "stdout": "", "stderr": f"no running container of service {service}"}
        container = containers[0]
        code, (out, err) = container.exec_run([*COMMAND, *argv], demux=True)
    except docker.errors.DockerException as ex:  # the container died under us, or the API timed out
        return {"rc": 1, "stdout": "", "stderr": str(ex)}
    return {
        "rc": code,
        "stdout": (out or b"").decode(),
        "stderr": (err or b"").decode(),
        "container": container.id,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "service": {"type": "str", "required": True},
            "argv": {"type": "list", "elements": "str", "default": ["status"]},
            "wait": {"type": "float", "default": 0},
        },
        supports_check_mode=False,  # `window` writes to the store
    )
    if docker is None:
        module.fail_json(msg=missing_required_lib("docker"))
    client = docker.from_env()
    deadline = time.monotonic() + module.params["wait"]
    result = ask(client, module.params["service"], module.params["argv"])
    while result["rc"] != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        result = ask(client, module.params["service"], module.params["argv"])
    module.exit_json(changed=module.params["argv"][0] != "status", **result)


if __name__ == "__main__":
    main()
