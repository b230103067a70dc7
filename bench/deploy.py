"""Deploy time: seconds from `docker_stack` to every app ready, for 10, 50 and 100 reader
replicas on this machine (image already built), and the runtime image's size.

Writes out_dir/deploy.json: {"image_bytes", "deploy": [{replicas, seconds_to_ready}], "conditions"}.
Readiness is the playbook's own handshake check (every gateway shaping, every node's routes in
place and its app about to start), polled every second: figures are accurate to about 1 s.
"""

import json
import os
import platform
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import docker
import yaml

from wotemu_runtime.contract.versions import image_tag

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = (10, 50, 100)
STACK = "wbench-deploy"
DEPLOY_TASK = "Experiment | Deploy the stack"
READY_TASK = "Experiment | Check that the stack became ready"


def topology(replicas: int) -> dict:
    reader_params = {"servient_host": "server.cell", "thing_id": "urn:wotemu:quickstart:thing", "interval": 5}
    return {
        "experiment": {"name": STACK, "duration": "1s"},
        "networks": [{"name": "cell", "conditions": "lte"}],
        "nodes": [
            {"name": "server", "app": {"path": "apps/quickstart_server.py"}, "networks": ["cell"]},
            {
                "name": "reader",
                "app": {"builtin": "reader", "params": reader_params},
                "networks": ["cell"],
                "scale": replicas,
            },
        ],
    }


def _playbook(playbook: str, extravars: dict, on_event=None):
    import ansible_runner

    failures = []

    def handler(event: dict) -> bool:
        if event["event"] == "runner_on_failed" and not event["event_data"].get("ignore_errors"):
            failures.append(event["event_data"]["res"].get("msg"))
        return on_event(event) if on_event else True

    with tempfile.TemporaryDirectory(prefix="wotemu-bench-runner-") as private:
        result = ansible_runner.run(
            private_data_dir=private,
            project_dir=str(ROOT),
            playbook=playbook,
            inventory=str(ROOT / "inventory" / "local.yml"),
            extravars=extravars,
            envvars={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
            event_handler=handler,
            quiet=True,
        )
    if result.rc != 0:
        raise RuntimeError(f"{playbook} failed (rc {result.rc}): {failures}")


def seconds_to_ready(replicas: int, scratch: Path) -> float:
    path = scratch / f"deploy-{replicas}.yml"
    path.write_text(yaml.safe_dump(topology(replicas)))
    extravars = {
        "topology": str(path),
        "experiment_results_dir": str(scratch / "results"),
        "experiment_ready_timeout": 900,
        "experiment_poll_interval": 1,
    }
    marks = {}

    def on_event(event: dict) -> bool:
        task = event.get("event_data", {}).get("task")
        if event["event"] == "playbook_on_task_start" and task == DEPLOY_TASK:
            marks["deploy"] = datetime.fromisoformat(event["created"])
        elif event["event"] == "runner_on_ok" and task == READY_TASK:
            marks["ready"] = datetime.fromisoformat(event["created"])
        return True

    try:
        _playbook("playbooks/deploy.yml", extravars, on_event)
    finally:
        _playbook("playbooks/teardown.yml", extravars)
    return (marks["ready"] - marks["deploy"]).total_seconds()


def main(out_dir: Path) -> None:
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    image = docker.from_env().images.get(image_tag())
    deploy = []
    with tempfile.TemporaryDirectory(prefix="wotemu-bench-deploy-") as scratch:
        for replicas in REPLICAS:
            seconds = seconds_to_ready(replicas, Path(scratch))
            deploy.append({"replicas": replicas, "seconds_to_ready": round(seconds, 1)})
            print(f"deploy: {replicas:>3} reader replicas ready in {seconds:5.1f} s", flush=True)
    result = {
        "image_bytes": image.attrs["Size"],
        "deploy": deploy,
        "conditions": {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "swarm": "one node, local engine",
            "readiness_poll_s": 1,
        },
    }
    (out_dir / "deploy.json").write_text(json.dumps(result, indent=2) + "\n")
