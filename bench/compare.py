"""Comparison speed: `wotemu compare` of two bundles of 1 M interaction records each (200 tasks).

Writes out_dir/compare.json: {records, seconds, bytes, ...}. `seconds` covers what `wotemu compare`
does (read both bundles, compute every figure and its interval, render, write); generating the
bundles is excluded. They are bench/report.py's realistic synthetic bundles, the second with
latencies 0.7 times the first's and 20 ms more delay on every network, so that the page has
verdicts to write. Goal: <= 30 s. The 1-minute load average at the end is kept, and the cores.
"""

import json
import os
import tempfile
import time
from pathlib import Path

from report import compare
from report.trials import design
from wotemu_testbench.synthetic import generate

RECORDS = 1_000_000
TASKS = 200
GOAL_S = 30


def main(out_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="wotemu-bench-compare-") as scratch:
        base = generate(Path(scratch) / "a", interactions_n=RECORDS, tasks_n=TASKS, seed=1)
        other = generate(
            Path(scratch) / "b",
            interactions_n=RECORDS,
            tasks_n=TASKS,
            seed=2,
            latency_scale=0.7,
            delay_added_ms=20.0,
        )
        start = time.perf_counter()
        designs = [design(base), design(other)]
        output = Path(scratch) / "compare.html"
        output.write_text(compare.render(designs, compare.build(designs)), encoding="utf-8")
        seconds = time.perf_counter() - start
        size = output.stat().st_size
    result = {
        "records": RECORDS,
        "designs": 2,
        "tasks": TASKS,
        "seconds": round(seconds, 2),
        "bytes": size,
        "goal_seconds": GOAL_S,
        "within_goal": seconds <= GOAL_S,
        "load_average_1m": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
    }
    print(
        f"compare: two bundles of {RECORDS:,} interaction records, {TASKS} tasks each: {seconds:6.2f} s, "
        f"{size / 1e6:5.2f} MB (goal <= {GOAL_S} s: {'ok' if result['within_goal'] else 'MISSED'}; "
        f"load {result['load_average_1m']}, {result['cpus']} cores)",
        flush=True,
    )
    (out_dir / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
