"""Scale: 91 replicas on two networks (60 readers on LTE, 30 on Wi-Fi, one server on both) run for
two minutes through `wotemu run`, as a user runs it, and must stop and report with nothing missing.

Too long for CI (about 10 minutes on a 2-core machine), so it is a `make bench` step that fails
(non-zero exit) when the run fails, the bundle lacks a replica's records or log tail, or the
report is missing. Writes out_dir/scale.json: the wall time of each phase and the time to ready.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import yaml

from bench.deploy import apps_ready, breakdown
from report.bundle import load

ROOT = Path(__file__).resolve().parent.parent
STACK = "wbench-scale"
READERS = {"cell": 60, "wlan": 30}
PHASE = re.compile(r"^\[(\d\d:\d\d:\d\d)\] == (\w[\w ]*?) \|", re.MULTILINE)


def topology() -> dict:
    thing = "urn:wotemu:quickstart:thing"
    readers = [
        {
            "name": f"reader-{network}",
            "app": {"builtin": "reader", "params": {"servient_host": f"server.{network}", "thing_id": thing}},
            "networks": [network],
            "scale": count,
        }
        for network, count in READERS.items()
    ]
    return {
        "experiment": {"name": STACK, "duration": "120s"},
        "networks": [{"name": "cell", "conditions": "lte"}, {"name": "wlan", "conditions": "wifi"}],
        "nodes": [
            {"name": "server", "app": {"path": "apps/quickstart_server.py"}, "networks": list(READERS)},
            *readers,
        ],
    }


def phase_seconds(output: str) -> dict[str, int]:
    """Wall seconds of each phase but the last, from the progress lines' clock (`[hh:mm:ss] == Phase |`)."""
    marks = [(datetime.strptime(t, "%H:%M:%S"), name) for t, name in PHASE.findall(output)]
    return {
        name: int((after - before).total_seconds()) % 86400 for (before, name), (after, _) in pairwise(marks)
    }


def check(bundle: Path) -> list[str]:
    """What is wrong with the bundle of the run; empty when it is whole."""
    problems = []
    run = json.loads((bundle / "run.json").read_text())
    if run["not_collected"]:
        problems.append(f"run.json not_collected: {run['not_collected']}")
    tasks = json.loads((bundle / "tasks.json").read_text())
    for network, count in READERS.items():
        running = [t for t in tasks if t["service"] == f"reader-{network}" and t["state"] == "running"]
        if len(running) < count:
            problems.append(f"reader-{network}: {len(running)} of {count} replicas running at the snapshot")
        unlogged = [t["task"] for t in running if not t["logs_tail"] or t["logs_error"]]
        if unlogged:
            problems.append(f"reader-{network}: no log tail for {unlogged}")
    _, short = apps_ready(load(bundle), {"server": 1, **{f"reader-{n}": c for n, c in READERS.items()}})
    if short:  # every replica's app ready, not only its task running
        problems.append(f"apps with fewer ready tasks than replicas: {short}")
    if not (bundle / "report.html").is_file():
        problems.append("no report.html")
    return problems


def main(out_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="wotemu-bench-scale-") as scratch:
        path = Path(scratch) / "scale.yml"
        path.write_text(yaml.safe_dump(topology()))
        results = Path(scratch) / "results"
        command = [sys.executable, "-m", "wotemu_runtime", "run", str(path)]
        command += ["-e", f"experiment_results_dir={results}", "-e", "experiment_ready_timeout=900"]
        env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
        started = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
        output = done.stdout + done.stderr
        bundles = list((results / STACK).glob("*")) if (results / STACK).is_dir() else []
        problems = [] if done.returncode == 0 else [f"wotemu run exited {done.returncode}"]
        problems += check(bundles[0]) if len(bundles) == 1 else [f"{len(bundles)} bundles, expected 1"]
        if problems:
            raise SystemExit("scale: " + "; ".join(problems) + "\n" + output[-6000:])
        result = {
            "replicas": sum(READERS.values()) + 1,
            "networks": len(READERS),
            "duration_s": 120,
            "wall_s": round(time.monotonic() - started),
            "phase_wall_s": phase_seconds(output),
            **breakdown(load(bundles[0])),
            "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        }
    print(f"scale: {json.dumps(result)}", flush=True)
    (out_dir / "scale.json").write_text(json.dumps(result, indent=2) + "\n")
