"""The final snapshot of a run's swarm tasks (tasks.json), from the Docker API's task objects and
each task's container as its node's engine reported it (times, exit, log tail)."""


def tasks_snapshot(
    tasks: list[dict],
    services: list[dict],
    nodes: list[dict],
    containers: dict[str, dict],
    unread_nodes: dict[str, str],
    stack: str,
) -> list[dict]:
    """Every task Swarm knows for the stack's services, failed and replaced ones included.

    `containers` maps task ids to what `wotemu_task_containers` read; `unread_nodes` maps the
    hosts whose engine could not be read to why, so that a task without a log tail says why.
    """
    service_names = {
        s["ID"]: s["Spec"]["Name"] for s in services if s["Spec"]["Name"].startswith(f"{stack}_")
    }
    node_names = {n["ID"]: n.get("Description", {}).get("Hostname", n["ID"]) for n in nodes}
    unread = "; ".join(f"{host}: {why}" for host, why in sorted(unread_nodes.items()))
    snapshot = []
    for task in tasks:
        full_name = service_names.get(task.get("ServiceID"))
        if full_name is None:
            continue
        status = task.get("Status", {})
        container = containers.get(task["ID"])
        if container is not None:
            logs_error = container.get("error")
        elif unread:
            logs_error = f"no container found; engines not read: {unread}"
        else:
            logs_error = "no container found on its node (never created, or already removed)"
        container = container or {}
        snapshot.append(
            {
                "service": full_name.removeprefix(f"{stack}_"),
                "task": f"{full_name}.{task.get('Slot', 0)}.{task['ID']}",
                "slot": task.get("Slot"),
                "node": node_names.get(task.get("NodeID"), task.get("NodeID")),
                "state": status.get("State"),
                "desired_state": task.get("DesiredState"),
                "exit_code": status.get("ContainerStatus", {}).get("ExitCode"),
                "error": status.get("Err") or None,
                "message": status.get("Message"),
                "created_at": task.get("CreatedAt"),
                "updated_at": task.get("UpdatedAt"),
                "container_started_at": container.get("started_at"),
                "container_finished_at": container.get("finished_at"),
                "oom_killed": container.get("oom_killed"),
                "logs_tail": container.get("logs_tail", []),
                "logs_error": logs_error,
            }
        )
    return sorted(snapshot, key=lambda t: (t["service"], t["slot"] or 0, t["created_at"] or ""))
