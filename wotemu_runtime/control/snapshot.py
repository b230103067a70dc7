"""The final snapshot of a run's swarm tasks (tasks.json), from the Docker API's task objects."""

import re
from collections import defaultdict

# `docker service logs --no-trunc --timestamps` prefixes each line with `<service>.<slot>.<task id>@<node>`.
_LOG_LINE = re.compile(
    r"^(?P<service>[^.\s]+)\.(?P<slot>\d+)\.(?P<task>[a-z0-9]+)@(?P<node>\S+)\s*\|\s?(?P<text>.*)$"
)


def split_logs(text: str, tail: int) -> dict[str, list[str]]:
    """Service log text -> {task id: last `tail` lines}."""
    lines = defaultdict(list)
    for line in text.splitlines():
        match = _LOG_LINE.match(line)
        if match:
            lines[match["task"]].append(match["text"])
    return {task: entries[-tail:] for task, entries in lines.items()}


def tasks_snapshot(
    tasks: list[dict],
    services: list[dict],
    nodes: list[dict],
    logs: dict[str, str],
    stack: str,
    tail: int = 60,
) -> list[dict]:
    """Every task Swarm knows for the stack's services, failed and replaced ones included."""
    service_names = {
        s["ID"]: s["Spec"]["Name"] for s in services if s["Spec"]["Name"].startswith(f"{stack}_")
    }
    node_names = {n["ID"]: n.get("Description", {}).get("Hostname", n["ID"]) for n in nodes}
    log_tails = {}
    for text in logs.values():
        log_tails.update(split_logs(text, tail))
    snapshot = []
    for task in tasks:
        full_name = service_names.get(task.get("ServiceID"))
        if full_name is None:
            continue
        status = task.get("Status", {})
        service = full_name.removeprefix(f"{stack}_")
        snapshot.append(
            {
                "service": service,
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
                "logs_tail": log_tails.get(task["ID"], []),
            }
        )
    return sorted(snapshot, key=lambda t: (t["service"], t["slot"] or 0, t["created_at"] or ""))
