"""A reader replica's memory: the built-in reader polling the quickstart server, both real node processes.

Measured three ways, because they answer different questions:
* `rss`: every page the process has mapped in, its share of the shared libraries included;
* `uss`: the pages only this process maps (what ending it would give back);
* `anon`: its anonymous memory (heap, Python objects, stacks): what each further replica adds
  on a host where the replicas share the image's files (page cache, charged once).
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil

from wotemu_testbench.services import RedisServer, node_env, service_config, stop

ROOT = Path(__file__).resolve().parent.parent
# The goal for `anon` (issue 18: more replicas per machine); tests/node/test_footprint.py holds it.
READER_GOAL_MB = 40
THING = "urn:wotemu:quickstart:thing"


def _node(config: dict, directory: Path, python: str) -> subprocess.Popen:
    path = directory / f"{config['service']}.json"
    path.write_text(json.dumps(config))
    return subprocess.Popen(
        [python, "-m", "wotemu_runtime", "node", "--config", str(path)],
        env=node_env(f"{config['service']}.1"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def anonymous_bytes(pid: int) -> int:
    """The process's anonymous memory, from the kernel's summary of its mappings."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/smaps_rollup has no Anonymous line")


def reader_footprint(
    store: RedisServer, directory: Path, run_id: str, reads: int, python: str = sys.executable
) -> dict:
    """MB of the built-in reader (interval 0.2 s, HTTP on loopback) once it has done `reads` reads."""
    server = service_config(
        store,
        run_id,
        "server",
        app={"path": "apps/quickstart_server.py", "params": {}, "protocols": ["http", "ws", "coap"]},
    )
    params = {
        "servient_host": f"127.0.0.1:{server['ports']['catalogue']}",
        "thing_id": THING,
        "interval": 0.2,
    }
    reader = service_config(
        store, run_id, "reader", app={"builtin": "reader", "protocols": [], "params": params}
    )
    processes = [_node(server, directory, python), _node(reader, directory, python)]
    try:
        deadline = time.monotonic() + 60
        done = 0
        while done < reads:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(
                    f"the reader did {done} of {reads} reads (exit codes {[p.poll() for p in processes]})"
                )
            time.sleep(0.2)
            done = sum(r["service"] == "reader" for r in store.records(run_id, "interactions"))
        process = psutil.Process(processes[1].pid)
        memory = process.memory_full_info()
        anon = anonymous_bytes(process.pid)
    finally:
        for process in processes:
            stop(process)
    return {
        "rss_mb": round(memory.rss / 2**20, 1),
        "uss_mb": round(memory.uss / 2**20, 1),
        "anon_mb": round(anon / 2**20, 1),
        "reads": done,
        "python": python,
    }
