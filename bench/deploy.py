"""Deploy time: seconds from `docker_stack` to every app ready, for 10, 50 and 100 reader
replicas on this machine (image already built), several samples each, and the runtime image's size.

Writes out_dir/deploy.json: {"image_bytes", "deploy": [{replicas, samples, median_s, min_s, max_s,
steps}], "conditions"}. Ready means every app ready: the last `ready` lifecycle record of the
server's and each reader's task (written once its servient serves, after its routes are in), as
the store timestamped it, minus the start of the deploy task. Every replica must have one, or the
sample fails. The playbook's own readiness check (polled every second) is kept beside it.
Each sample is stopped through the stop phase, and its bundle gives the breakdown (the report's
"time to ready": median seconds per step over the replicas, and when the last one was ready) and
the median reader's memory as its own sampler read it from its container's cgroup.
The load average during each sample is kept: figures measured on a busy machine are not figures.
"""

import json
import os
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import docker
import yaml

from report.bundle import Bundle, load
from report.sections.readiness import steps, time_to_ready
from wotemu_runtime.contract.versions import image_tag

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = (10, 50, 100)
SAMPLES = 3
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


def apps_ready(loaded: Bundle, replicas: dict[str, int]) -> tuple[float | None, dict[str, int]]:
    """When the last app was ready (epoch s: the latest first `ready` record over the tasks of
    these services), and the services with fewer ready tasks than replicas (their counts)."""
    lifecycle = loaded.tables["lifecycle"]
    ready = lifecycle[(lifecycle["event"] == "ready") & lifecycle["service"].isin(list(replicas))]
    first = ready.groupby("task", observed=True).agg(service=("service", "first"), t=("t", "min"))
    counts = first.groupby("service", observed=True).size().to_dict()
    short = {name: counts.get(name, 0) for name, want in replicas.items() if counts.get(name, 0) < want}
    return (float(first["t"].max()) if len(first) else None), short


def breakdown(loaded: Bundle) -> dict:
    """Median seconds per step over the run's replicas, when the last one was ready, and the median
    reader's memory in its container."""
    ready = time_to_ready(loaded.tasks, loaded.tables["lifecycle"])
    medians = steps(ready).drop(columns=["service", "task"]).median()
    return {
        "last_ready_s": round(float(ready["ready"].max()), 1),
        "last_ready_per_service_s": ready.groupby("service")["ready"].max().round(1).to_dict(),
        "median_step_s": {step: round(float(value), 2) for step, value in medians.items()},
        "reader_container_mem_mb": reader_memory_mb(loaded),
    }


def reader_memory_mb(loaded) -> float | None:
    """The median reader's working set in its container (cgroup, as `docker stats` counts it), from
    each reader's last `system` sample once it was ready; None when none sampled after its ready."""
    lifecycle = loaded.tables["lifecycle"]
    ready = lifecycle[lifecycle["event"] == "ready"].groupby("task", observed=True)["t"].min()
    system = loaded.tables["system"]
    system = system[(system["service"] == "reader") & (system["t"] >= system["task"].map(ready))]
    if system.empty:
        return None
    last = system.sort_values("t").groupby("task", observed=True)["mem_bytes"].last()
    return round(float(last.median()) / 2**20, 1)


def sample(replicas: int, scratch: Path) -> dict:
    """One deploy to ready, then the stop phase; the bundle's breakdown."""
    path = scratch / f"deploy-{replicas}.yml"
    path.write_text(yaml.safe_dump(topology(replicas)))
    results = scratch / "results"
    extravars = {
        "topology": str(path),
        "experiment_results_dir": str(results),
        "experiment_ready_timeout": 900,
        "experiment_poll_interval": 1,
    }
    marks = {}

    def on_event(event: dict) -> bool:
        task = event.get("event_data", {}).get("task")
        # ansible-runner stamps its events in UTC without saying so.
        created = datetime.fromisoformat(event["created"]).replace(tzinfo=UTC).timestamp()
        if event["event"] == "playbook_on_task_start" and task == DEPLOY_TASK:
            marks["deploy"] = created
        elif event["event"] == "runner_on_ok" and task == READY_TASK:
            marks["checked"] = created
        return True

    before = {p.name for p in (results / STACK).glob("*")}
    try:
        _playbook("playbooks/deploy.yml", extravars, on_event)
        load_at_ready = os.getloadavg()[0]
        _playbook("playbooks/stop.yml", extravars)
    finally:
        _playbook("playbooks/teardown.yml", extravars)
    (bundle,) = [p for p in (results / STACK).glob("*") if p.name not in before]
    loaded = load(bundle)
    apps = {node["name"]: node.get("scale", 1) for node in topology(replicas)["nodes"]}
    last_ready, short = apps_ready(loaded, apps)
    if short:
        raise RuntimeError(f"{bundle}: apps with fewer ready tasks than replicas: {short} of {apps}")
    return {
        "seconds_to_ready": round(last_ready - marks["deploy"], 1),
        "seconds_to_ready_check": round(marks["checked"] - marks["deploy"], 1),
        "load_average_1m_at_ready": round(load_at_ready, 1),
        **breakdown(loaded),
    }


def summarise(replicas: int, samples: list[dict]) -> dict:
    seconds = [s["seconds_to_ready"] for s in samples]
    return {
        "replicas": replicas,
        "samples": samples,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
    }


def main(out_dir: Path) -> None:
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    image = docker.from_env().images.get(image_tag())
    deploy = []
    with tempfile.TemporaryDirectory(prefix="wotemu-bench-deploy-") as scratch:
        for replicas in REPLICAS:
            samples = []
            for _ in range(SAMPLES):
                samples.append(sample(replicas, Path(scratch)))
                steps_s = ", ".join(f"{k} {v:.1f}" for k, v in samples[-1]["median_step_s"].items())
                print(
                    f"deploy: {replicas:>3} readers ready in {samples[-1]['seconds_to_ready']:5.1f} s "
                    f"(load {samples[-1]['load_average_1m_at_ready']}); median s per step: {steps_s}",
                    flush=True,
                )
            deploy.append(summarise(replicas, samples))
            row = deploy[-1]
            print(
                f"deploy: {replicas:>3} readers: median {row['median_s']:.1f} s "
                f"(min {row['min_s']:.1f}, max {row['max_s']:.1f}, {SAMPLES} samples)",
                flush=True,
            )
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
