"""`wotemu status TOPOLOGY`: a running run's state, asked from the control machine.

Redis is never published on a host port, so this asks the store's own container, through the
Docker engine (`docker.from_env()`: the local one, or the manager `DOCKER_HOST` names; the store
always runs on a manager), to run the in-store `wotemu status`, the answer the deploy phase polls.
"""

import json
import time

import docker

STATUS_COMMAND = ["python3", "-m", "wotemu_runtime", "status"]


class NoRun(Exception):
    """No run of the stack is deployed on this engine, or its store does not answer."""


def store_status(stack: str, client=None) -> dict:
    """The in-store status of `stack`'s run (see control/status.py)."""
    service = f"{stack}_redis"
    try:
        client = client or docker.from_env()
        containers = client.containers.list(
            filters={"label": f"com.docker.swarm.service.name={service}", "status": "running"}
        )
        if not containers:
            raise NoRun(f"no run of stack {stack} is deployed here (no running container of {service})")
        code, (out, err) = containers[0].exec_run(STATUS_COMMAND, demux=True)
    except docker.errors.DockerException as ex:  # no engine here, or the store's container went away
        raise NoRun(f"cannot ask the store of stack {stack}: {ex}") from None
    if code != 0:
        raise NoRun(f"the store of stack {stack} did not answer: {(err or b'').decode().strip()}")
    return json.loads(out)


def phase(status: dict, now: float) -> str:
    """Where the run is, from its window: not yet started, running (until when), or over."""
    window = status.get("window")
    if window is None:
        return "deploying: waiting until every gateway shapes and every node is ready"
    if window["ends"] is None:
        return "running until stopped (manual): end it with `wotemu stop TOPOLOGY`"
    if now < window["ends"]:
        return f"running, {window['ends'] - now:.0f} s left"
    return "over: no interaction starts any more; waiting for the stop phase"


def describe(stack: str, status: dict, now: float | None = None) -> list[str]:
    """The lines `wotemu status TOPOLOGY` prints."""
    now = time.time() if now is None else now
    window = status.get("window")
    shaping = ", ".join(f"{net} ({backend})" for net, backend in sorted(status["gateways"].items()))
    lines = [
        f"stack {stack}: {phase(status, now)}",
        f"gateways shaping: {len(status['gateways'])}" + (f": {shaping}" if shaping else ""),
        f"node tasks ready so far: {status['nodes_ready']}",
    ]
    if window is not None:
        lines.append(f"since start: {now - window['started']:.0f} s")
    lines.append(f"records so far: {status['records_total']} {json.dumps(status['records'], sort_keys=True)}")
    return lines
