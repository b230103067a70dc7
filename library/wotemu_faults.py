"""Ansible module: the scenario's kills and scale changes, applied to the swarm at their times.

The run phase starts it in the background on every swarm host as the run's window opens. A kill
crashes (SIGKILL) this host's running containers of the service whose task slots the stack model
drew; Swarm restarts them, as a crashed device comes back. Only a manager changes a service's
replica count, so scale changes run where `scale` is true (the manager that deployed). No container
gets the Docker socket: this runs on the hosts, with the engine's own API.
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import docker
except ImportError:
    docker = None

DOCUMENTATION = r"""
module: wotemu_faults
short_description: Apply a run's scheduled kills and scale changes on this swarm host
description:
  - Waits until each fault's time (O(started) plus its C(t_s)), then kills this host's running
    containers of its service whose task slot it lists, or (where O(scale) is true) sets the
    service's replica count. Returns what it did, with the time each took effect.
options:
  faults:
    description: The stack model's C(faults) (contract.config.Fault), in time order.
    type: list
    elements: dict
    required: true
  started:
    description: When the run's window opened (Unix seconds).
    type: float
    required: true
  scale:
    description: Whether this host applies the scale changes (a manager; one host only).
    type: bool
    default: false
requirements: [docker (the Docker SDK for Python)]
"""

RETURN = r"""
applied:
  description: One entry per fault this host acted on (kills that found no container here are left out).
  type: list
  elements: dict
  returned: always
"""


def _slot(container) -> int | None:
    """The task slot in the container's Swarm task name, `<service>.<slot>.<task id>`."""
    parts = container.labels.get("com.docker.swarm.task.name", "").split(".")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def kill(client, fault: dict) -> list[str]:
    """Crash this host's running replicas of the fault's service in its slots; their task names."""
    running = client.containers.list(
        filters={"label": f"com.docker.swarm.service.name={fault['service']}", "status": "running"}
    )
    killed = []
    for container in running:
        if _slot(container) in fault["slots"]:
            container.kill()
            killed.append(container.labels["com.docker.swarm.task.name"])
    return killed


def scale(client, service: str, replicas: int) -> None:
    """Set the service's replica count and nothing else. The SDK's own `Service.scale` posts back
    the spec as inspected with Docker's defaults filled in, which Swarm takes for a changed task
    template: it replaced every running task. The spec as stored, with only the count changed, does
    what `docker service scale` does."""
    found = client.api.inspect_service(service)
    spec = found["Spec"]
    client.api.update_service(
        found["ID"],
        found["Version"]["Index"],
        task_template=spec["TaskTemplate"],
        name=spec["Name"],
        labels=spec.get("Labels"),
        mode={"Replicated": {"Replicas": replicas}},
        update_config=spec.get("UpdateConfig"),
        rollback_config=spec.get("RollbackConfig"),
        endpoint_spec=spec.get("EndpointSpec"),
    )


def apply(client, fault: dict, host: str) -> dict | None:
    outcome = {"host": host}
    try:
        if fault["kind"] == "kill":
            outcome["killed"] = kill(client, fault)
            if not outcome["killed"]:
                return None
        else:
            scale(client, fault["service"], fault["replicas"])
    except docker.errors.DockerException as ex:  # a container gone meanwhile, the API busy
        outcome["error"] = str(ex)
    return outcome


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "faults": {"type": "list", "elements": "dict", "required": True},
            "started": {"type": "float", "required": True},
            "scale": {"type": "bool", "default": False},
        },
        supports_check_mode=False,  # it crashes and scales services
    )
    if docker is None:
        module.fail_json(msg=missing_required_lib("docker"))
    client = docker.from_env(timeout=30)
    host = client.info().get("Name", "")
    started, applied = module.params["started"], []
    for fault in module.params["faults"]:
        if fault["kind"] == "scale" and not module.params["scale"]:
            continue
        planned = started + fault["t_s"]
        time.sleep(max(0.0, planned - time.time()))
        outcome = apply(client, fault, host)
        if outcome is not None:
            now = time.time()
            timing = {"planned_t": planned, "applied_t": now, "lateness_s": now - planned}
            applied.append({**fault, **outcome, **timing})
    module.exit_json(changed=bool(applied), applied=applied)


if __name__ == "__main__":
    main()
