"""Report build time and size for 10 k, 100 k and 1 M interaction records (200 tasks).

Writes out_dir/report.json: a JSON list of {records, seconds, bytes}. `seconds` covers what
`wotemu report` does (read the bundle, compute, render, write); generating the bundle is excluded.
"""

import json
import tempfile
import time
from pathlib import Path

from report import page
from report.bundle import load
from wotemu_testbench.synthetic import generate

SIZES = (10_000, 100_000, 1_000_000)
TASKS = 200


def build(bundle_dir: Path) -> tuple[float, int]:
    start = time.perf_counter()
    bundle = load(bundle_dir)
    output = bundle_dir / "report.html"
    output.write_text(page.render(bundle, page.build_sections(bundle)), encoding="utf-8")
    return time.perf_counter() - start, output.stat().st_size


def main(out_dir: Path) -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="wotemu-bench-report-") as scratch:
        for records in SIZES:
            bundle_dir = generate(Path(scratch) / str(records), interactions_n=records, tasks_n=TASKS)
            seconds, size = build(bundle_dir)
            results.append({"records": records, "seconds": round(seconds, 2), "bytes": size})
            print(
                f"report: {records:>9,} records, {TASKS} tasks: {seconds:6.2f} s, {size / 1e6:5.2f} MB",
                flush=True,
            )
    (out_dir / "report.json").write_text(json.dumps(results, indent=2) + "\n")
