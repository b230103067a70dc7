"""Soak: a long run (SOAK_MINUTES, default 30) with one reader replica killed every 30 s, through
`wotemu run` on this machine's swarm. Too long for CI: `make soak` (SOAK_MINUTES=5 for a short one).

It fails (non-zero exit) when the run fails, when a surviving service's memory grew by more than
10 % (the median of its system samples in the last minute against the first minute after a
minute's warm-up), or when a numbered record (tests/faults/apps/sequence.py) is neither in the
bundle nor counted as dropped or unstored. Writes out_dir/soak.json with the figures.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import pandas as pd
import yaml

from wotemu_testbench.accounting import account, read

ROOT = Path(__file__).resolve().parent.parent
STACK = "wbench-soak"
KILL_EVERY_S = 30
MAX_GROWTH = 0.10
WARM_UP_S = 60
WINDOW_S = 60
# The store holds the run's records: its memory grows by design, so it is not a survivor here.
SURVIVORS = ("server", "counter", "gw_cell")


def topology(minutes: float) -> dict:
    faults = yaml.safe_load((ROOT / "tests" / "faults" / "faults.yml").read_text())
    # Its own subnets: the soak may run beside the test suite's stacks, which use the default pool.
    faults["experiment"] = {
        "name": STACK,
        "duration": f"{int(minutes * 60)}s",
        "seed": 1,
        "subnet_pool": "10.219.0.0/16",
    }
    next(n for n in faults["nodes"] if n["name"] == "reader")["scale"] = 3
    return faults


def growth(bundle: Path, started: float, ended: float) -> dict[str, float]:
    """Per surviving service, its memory's growth: late median over early median, minus one."""
    system = pd.DataFrame(read(bundle, "system"))
    out = {}
    for service in SURVIVORS:
        samples = system[system["service"] == service]
        early = samples[samples["t"].between(started + WARM_UP_S, started + WARM_UP_S + WINDOW_S)][
            "mem_bytes"
        ]
        late = samples[samples["t"].between(ended - WINDOW_S, ended)]["mem_bytes"]
        out[service] = float(late.median() / early.median() - 1)
    return out


def main(out_dir: Path) -> None:
    minutes = float(os.environ.get("SOAK_MINUTES", "30"))
    client = docker.from_env()
    with tempfile.TemporaryDirectory(prefix="wotemu-bench-soak-") as scratch:
        path = Path(scratch) / "soak.yml"
        path.write_text(yaml.safe_dump(topology(minutes)))
        results = Path(scratch) / "results"
        log = Path(scratch) / "run.log"
        kills = 0
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "wotemu_runtime", "run", str(path),
                 "-e", f"experiment_results_dir={results}"],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
            while "s left" not in log.read_text() and process.poll() is None:
                time.sleep(1)
            started = time.time()
            while time.time() < started + minutes * 60 - KILL_EVERY_S and process.poll() is None:
                time.sleep(KILL_EVERY_S)
                readers = client.containers.list(
                    filters={"label": f"com.docker.swarm.service.name={STACK}_reader"}
                )
                if readers:
                    readers[kills % len(readers)].kill()
                    kills += 1
            process.wait()
        if process.returncode != 0:
            sys.exit(f"soak: the run failed:\n{log.read_text()[-5000:]}")
        (bundle,) = (results / STACK).iterdir()
        run = json.loads((bundle / "run.json").read_text())
        started_at = pd.Timestamp(run["started_at"]).timestamp()
        ended_at = pd.Timestamp(run["ended_at"]).timestamp()
        figures = {
            "minutes": minutes,
            "kills": kills,
            "memory_growth": growth(bundle, started_at, ended_at),
            "records": account(bundle, "counter"),
            "not_collected": run["not_collected"],
        }
    (out_dir / "soak.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    records = figures["records"]
    problems = [
        f"{s}: memory grew {g:.1%}" for s, g in figures["memory_growth"].items() if not g <= MAX_GROWTH
    ]
    if records["missing"] != records["counted"] or records["duplicates"] or records["stray"]:
        problems.append(f"unaccounted records: {records}")
    if problems:
        sys.exit("soak: " + "; ".join(problems))
