"""The deploy bench's "ready" is every app's `ready` record: a replica without one fails the sample."""

import gzip
import json

from bench.deploy import apps_ready
from report.bundle import load
from wotemu_testbench.accounting import read
from wotemu_testbench.synthetic import generate


def test_ready_is_the_last_apps_ready_record_and_a_replica_without_one_is_short(tmp_path):
    bundle = generate(tmp_path / "bundle", interactions_n=200, tasks_n=12)
    lifecycle = read(bundle, "lifecycle")
    readers = sorted({r["task"] for r in lifecycle if r["service"] == "reader"})
    last = max(r["t"] for r in lifecycle if r["event"] == "ready" and r["service"] in ("reader", "server"))
    assert apps_ready(load(bundle), {"server": 1, "reader": len(readers)}) == (last, {})
    # One reader started but never became ready: the bench must not call the stack ready.
    kept = [r for r in lifecycle if not (r["task"] == readers[0] and r["event"] == "ready")]
    with gzip.open(bundle / "lifecycle.jsonl.gz", "wt") as out:
        out.writelines(json.dumps(r) + "\n" for r in kept)
    _, short = apps_ready(load(bundle), {"server": 1, "reader": len(readers)})
    assert short == {"reader": len(readers) - 1}
