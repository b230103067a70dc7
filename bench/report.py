"""Report build time and size for 10 k, 100 k and 1 M interaction records (200 tasks), and the time
of `wotemu compare` on two bundles of 1 M records.

Writes out_dir/report.json: a JSON list of {records, seconds, bytes, ...}. `seconds` covers what
`wotemu report` does (read the bundle, compute, render, write); generating the bundle is excluded.
The bundles are realistic (wotemu_testbench.synthetic: the run lasts as long as its consumers need,
system samples every 2 s, a few malformed records), so each row also gives the run's duration, the
records of every table and what the reader set aside. Goal for 1 M records: <= 30 s and <= 15 MB.

Writes out_dir/compare.json: {records, seconds, bytes, ...} of comparing the 1 M-record bundle
with another one, whose latencies are 0.7 times its own and whose networks have 20 ms more delay
(so that the page has verdicts to write). `seconds` covers what `wotemu compare` does (read both
bundles, compute every figure and its interval, render, write). Goal: <= 30 s.

The 1-minute load average at the end of each is kept, and the cores (other work slows them).
"""

import json
import os
import tempfile
import time
from pathlib import Path

from report import compare, page
from report.bundle import load
from report.trials import design
from wotemu_testbench.synthetic import generate

SIZES = (10_000, 100_000, 1_000_000)
TASKS = 200
GOAL = {"records": 1_000_000, "seconds": 30, "bytes": 15_000_000}
COMPARE_GOAL_S = 30


def build(bundle_dir: Path) -> tuple[float, int, dict]:
    start = time.perf_counter()
    bundle = load(bundle_dir)
    output = bundle_dir / "report.html"
    output.write_text(page.render(bundle, page.build_sections(bundle)), encoding="utf-8")
    seconds = time.perf_counter() - start
    shape = {
        "duration_s": round(bundle.ended - bundle.started),
        "table_records": {kind: len(table) for kind, table in bundle.tables.items()},
        "set_aside": {kind: refused.count for kind, refused in bundle.set_aside.items()},
    }
    return seconds, output.stat().st_size, shape


def compared(base: Path, other: Path) -> tuple[float, int]:
    start = time.perf_counter()
    designs = [design(base), design(other)]
    output = other.parent / "compare.html"
    output.write_text(compare.render(designs, compare.build(designs)), encoding="utf-8")
    return time.perf_counter() - start, output.stat().st_size


def conditions() -> dict:
    return {"load_average_1m": round(os.getloadavg()[0], 1), "cpus": os.cpu_count()}


def main(out_dir: Path) -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="wotemu-bench-report-") as scratch:
        for records in SIZES:
            bundle_dir = generate(Path(scratch) / str(records), interactions_n=records, tasks_n=TASKS)
            seconds, size, shape = build(bundle_dir)
            row = {"records": records, "seconds": round(seconds, 2), "bytes": size, **shape, **conditions()}
            if records == GOAL["records"]:
                row["within_goal"] = seconds <= GOAL["seconds"] and size <= GOAL["bytes"]
            results.append(row)
            print(
                f"report: {records:>9,} records, {TASKS} tasks, {shape['duration_s']} s run: "
                f"{seconds:6.2f} s, "
                f"{size / 1e6:5.2f} MB (load {row['load_average_1m']}); set aside {shape['set_aside']}",
                flush=True,
            )
        other = generate(
            Path(scratch) / "other",
            interactions_n=GOAL["records"],
            tasks_n=TASKS,
            seed=2,
            latency_scale=0.7,
            delay_added_ms=20.0,
        )
        seconds, size = compared(bundle_dir, other)  # the loop's last bundle: 1 M records
    within = seconds <= COMPARE_GOAL_S
    comparison = {"records": GOAL["records"], "designs": 2, "seconds": round(seconds, 2), "bytes": size,
                  "goal_seconds": COMPARE_GOAL_S, "within_goal": within, **conditions()}  # fmt: skip
    print(
        f"compare: two bundles of {GOAL['records']:,} records, {TASKS} tasks each: {seconds:6.2f} s, "
        f"{size / 1e6:5.2f} MB ({'ok' if within else 'MISSED'}: goal <= {COMPARE_GOAL_S} s; load "
        f"{comparison['load_average_1m']}, {comparison['cpus']} cores)",
        flush=True,
    )
    (out_dir / "report.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "compare.json").write_text(json.dumps(comparison, indent=2) + "\n")
