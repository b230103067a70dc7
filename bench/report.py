"""Report build time and size for 10 k, 100 k and 1 M interaction records (200 tasks).

Writes out_dir/report.json: a JSON list of {records, seconds, bytes, ...}. `seconds` covers what
`wotemu report` does (read the bundle, compute, render, write); generating the bundle is excluded.
The bundles are realistic (wotemu_testbench.synthetic: the run lasts as long as its consumers need,
system samples every 2 s, a few malformed records), so each row also gives the run's duration, the
records of every table and what the reader set aside. Goal for 1 M records: <= 30 s and <= 15 MB;
the 1-minute load average at the end of each build is kept (other work on the machine slows it).
"""

import json
import os
import tempfile
import time
from pathlib import Path

from report import page
from report.bundle import load
from wotemu_testbench.synthetic import generate

SIZES = (10_000, 100_000, 1_000_000)
TASKS = 200
GOAL = {"records": 1_000_000, "seconds": 30, "bytes": 15_000_000}


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


def main(out_dir: Path) -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="wotemu-bench-report-") as scratch:
        for records in SIZES:
            bundle_dir = generate(Path(scratch) / str(records), interactions_n=records, tasks_n=TASKS)
            seconds, size, shape = build(bundle_dir)
            row = {"records": records, "seconds": round(seconds, 2), "bytes": size, **shape,
                   "load_average_1m": round(os.getloadavg()[0], 1), "cpus": os.cpu_count()}  # fmt: skip
            if records == GOAL["records"]:
                row["within_goal"] = seconds <= GOAL["seconds"] and size <= GOAL["bytes"]
            results.append(row)
            print(
                f"report: {records:>9,} records, {TASKS} tasks, {shape['duration_s']} s run: "
                f"{seconds:6.2f} s, "
                f"{size / 1e6:5.2f} MB (load {row['load_average_1m']}); set aside {shape['set_aside']}",
                flush=True,
            )
    (out_dir / "report.json").write_text(json.dumps(results, indent=2) + "\n")
