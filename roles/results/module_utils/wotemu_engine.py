"""What the results role's modules share: reaching the Docker engine of the node they run on."""

# The module option naming the engine, in each module's argument_spec.
ENGINE_OPTION = {"docker_host": {"type": "str", "default": "unix:///var/run/docker.sock"}}


def engine_api(module, timeout):
    """The engine's low-level API client (`timeout` None: no read timeout), or the module fails saying
    what is missing."""
    try:
        import docker
    except ImportError:
        module.fail_json(msg="The Docker SDK for Python (`docker`) is not installed in this node's Python")
    return docker.APIClient(base_url=module.params["docker_host"], timeout=timeout)


SERVICE_LABEL = "com.docker.swarm.service.name"
TASK_LABEL = "com.docker.swarm.task.id"
STACK_LABEL = "com.docker.stack.namespace"


def running_containers(api, stack, services):
    """This node's running containers of these services of the stack: (summary, service) pairs."""
    wanted = {f"{stack}_{service}": service for service in services}
    for summary in api.containers(filters={"label": f"{STACK_LABEL}={stack}", "status": "running"}):
        service = wanted.get(summary["Labels"].get(SERVICE_LABEL))
        if service is not None:
            yield summary, service
