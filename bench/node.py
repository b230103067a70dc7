"""Node runtime footprint: a reader replica's memory, the writer's throughput, the collectors' CPU.

Everything runs on this machine against a real redis-server (append-only, fsync on every write,
as the store role runs it) started in a temp dir and killed by pid at the end.
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wotemu_runtime.metrics.writer import MetricsWriter  # noqa: E402
from wotemu_testbench.footprint import READER_GOAL_MB, reader_footprint  # noqa: E402
from wotemu_testbench.services import RedisServer, stop  # noqa: E402

READER_READS = 20
WRITER_RECORDS = 50_000
COLLECTOR_WINDOW_S = 30.0

# A process running only the collectors (writer + system sampler) at their default periods.
COLLECTORS_ONLY = """
import json, sys, time
from wotemu_runtime.metrics.system import start_system_metrics
from wotemu_runtime.metrics.writer import MetricsWriter
config = json.loads(sys.argv[1])
writer = MetricsWriter(config)
start_system_metrics(writer, config)
time.sleep(3600)
"""


def reader_memory_mb(store: RedisServer, directory: Path) -> dict:
    """The built-in reader's memory (wotemu_testbench/footprint.py: RSS, USS and anonymous)."""
    footprint = reader_footprint(store, directory, "bench-node", reads=READER_READS)
    return {
        "reader_rss_mb": footprint["rss_mb"],
        "reader_uss_mb": footprint["uss_mb"],
        "reader_anon_mb": footprint["anon_mb"],
        "reader_conditions": f"built-in reader polling the quickstart server every 0.2 s over HTTP on "
        f"loopback, measured after {footprint['reads']} reads, Python {platform.python_version()} "
        f"({sys.executable})",
    }


def writer_records_per_s(store: RedisServer) -> dict:
    config = {"run_id": "bench-writer", "service": "bench", "redis": store.config()}
    writer = MetricsWriter(config, buffer_max=WRITER_RECORDS)
    start = time.perf_counter()
    for index in range(WRITER_RECORDS):
        writer.write(
            "interactions",
            side="consumer",
            protocol="http",
            thing_id="urn:x",
            thing_title="x",
            verb="readproperty",
            name="p",
            latency_s=0.001 * index,
            ok=True,
            error=None,
        )
    enqueued = time.perf_counter() - start
    unsent = writer.close(120)
    elapsed = time.perf_counter() - start
    return {
        "writer_records_per_s": round(WRITER_RECORDS / elapsed),
        "writer_records": WRITER_RECORDS,
        "writer_unsent": unsent,
        "writer_enqueue_us_per_record": round(enqueued / WRITER_RECORDS * 1e6, 2),
        "writer_conditions": "one writer thread, batches of 500 via a Lua script, interactions records "
        "(~300 B), local redis-server with appendfsync always",
    }


def collector_cpu_pct(store: RedisServer) -> dict:
    config = {
        "run_id": "bench-collectors",
        "service": "bench",
        "redis": store.config(),
        "system_period_s": 2.0,
    }
    process = subprocess.Popen([sys.executable, "-c", COLLECTORS_ONLY, json.dumps(config)], cwd=ROOT)
    try:
        time.sleep(3.0)  # past the imports
        proc = psutil.Process(process.pid)
        before, t0 = proc.cpu_times(), time.monotonic()
        time.sleep(COLLECTOR_WINDOW_S)
        after, t1 = proc.cpu_times(), time.monotonic()
    finally:
        stop(process)
    used = (after.user + after.system) - (before.user + before.system)
    return {
        "collector_cpu_pct": round(100 * used / (t1 - t0), 3),
        "collector_conditions": f"writer (flush every 0.5 s) + system sampler at the default 2 s, "
        f"idle app, CPU of that process over {COLLECTOR_WINDOW_S:.0f} s, 100 = one core",
    }


def main(out_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="wotemu-bench-node-") as tmp:
        store = RedisServer(Path(tmp)).start()
        try:
            result = {
                **reader_memory_mb(store, Path(tmp)),
                **writer_records_per_s(store),
                **collector_cpu_pct(store),
            }
        finally:
            store.stop()
    result["goals"] = {"reader_anon_mb": f"<= {READER_GOAL_MB}", "collector_cpu_pct": "<= 2"}
    result["machine"] = {
        "cpus": os.cpu_count(),
        "mem_bytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    (out_dir / "node.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
