"""Time to ready: each replica's milestones, from tasks.json's times and the lifecycle records."""

import json

import pandas as pd

from report.bundle import read_tasks
from report.sections.readiness import per_service, steps, time_to_ready

STACK = "s"
DEPLOY = pd.Timestamp("2026-01-01T00:00:00Z")


def _task(service: str, slot: int, created: float, container: float) -> dict:
    at = lambda s: (DEPLOY + pd.Timedelta(seconds=s)).isoformat()  # noqa: E731
    return {
        "service": service,
        "task": f"{STACK}_{service}.{slot}.id{slot}",
        "slot": slot,
        "node": "n",
        "state": "running",
        "desired_state": "running",
        "exit_code": 0,
        "error": None,
        "created_at": at(created),
        "updated_at": at(container),
        "container_started_at": at(container),
        "logs_tail": [],
    }


def _lifecycle(task: str, **events: float) -> list[dict]:
    return [{"task": task, "event": e, "t": DEPLOY.timestamp() + s, "detail": ""} for e, s in events.items()]


def test_milestones_are_seconds_since_the_first_task_was_created(tmp_path):
    (tmp_path / "tasks.json").write_text(
        json.dumps(
            [_task("reader", 1, 1.0, 4.0), _task("reader", 2, 2.0, 9.0), _task("gw_cell", 1, 0.0, 3.0)]
        )
    )
    tasks = read_tasks(tmp_path / "tasks.json")
    lifecycle = pd.DataFrame(
        _lifecycle("s_reader.1.id1", start=5.0, gateways=7.0, routed=7.5, ready=8.0)
        + _lifecycle("s_reader.2.id2", start=10.0, gateways=11.0, routed=12.0, ready=14.0)
        # a second `ready` after a restart of the same task must not move its first one
        + _lifecycle("s_reader.2.id2", ready=30.0)
        + _lifecycle("s_gw_cell.1.id1", start=3.5, ready=6.0)
    )
    ready = time_to_ready(tasks, lifecycle).set_index("task")
    assert ready.loc[
        "s_reader.1.id1", ["created", "container_started", "start", "gateways", "routed", "ready"]
    ].tolist() == [1.0, 4.0, 5.0, 7.0, 7.5, 8.0]
    assert ready.loc["s_reader.2.id2", "ready"] == 14.0
    assert pd.isna(ready.loc["s_gw_cell.1.id1", "routed"])  # gateways route nothing
    services = per_service(ready.reset_index()).set_index("service")
    assert services.loc["reader", "replicas"] == 2 and services.loc["reader", "last_ready"] == 14.0
    assert services.loc["reader", "ready"] == 11.0  # the median
    waited = steps(ready.reset_index()).set_index("task")
    assert waited.loc["s_reader.2.id2", "container_started"] == 7.0  # created at 2 s, started at 9 s
    assert waited.loc["s_gw_cell.1.id1", "ready"] == 2.5  # from its start: a gateway installs no routes


def test_a_bundle_without_container_times_still_gives_the_lifecycle_milestones(tmp_path):
    task = _task("reader", 1, 0.0, 1.0)
    del task["container_started_at"]  # bundles written before the stop read each container
    (tmp_path / "tasks.json").write_text(json.dumps([task]))
    ready = time_to_ready(
        read_tasks(tmp_path / "tasks.json"), pd.DataFrame(_lifecycle(task["task"], start=2.0, ready=3.0))
    )
    assert ready["ready"].tolist() == [3.0] and ready["container_started"].isna().all()
