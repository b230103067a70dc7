"""Accounting for numbered records (tests/faults/apps/sequence.py): each task numbers its `sequence`
metrics from 0 and says at its stop how many it made (`produced`); the bundle must hold each one
once, or count it as dropped (`drops` records) or not stored (run.json's `unstored`)."""

import gzip
import json
from collections import defaultdict
from pathlib import Path


def read(bundle: Path, kind: str) -> list[dict]:
    with gzip.open(bundle / f"{kind}.jsonl.gz", "rt") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def account(bundle: Path, service: str) -> dict:
    """{"produced", "stored", "missing", "counted", "duplicates", "stray", "tasks"} for `service`.

    Drops and unstored counts are per kind (`app`): the counter must be the only app-metric writer
    of its service, and its service the only one that drops app records, for them to match."""
    numbered, produced = defaultdict(list), {}
    for record in read(bundle, "app"):
        if record["service"] != service:
            continue
        if record["metric"] == "sequence":
            numbered[record["task"]].append(int(record["value"]))
        elif record["metric"] == "produced":
            produced[record["task"]] = int(record["value"])
    run = json.loads((bundle / "run.json").read_text())
    counted = run["drops"].get("app", 0) + run.get("unstored", {}).get(service, {}).get("app", 0)
    duplicates = sum(len(values) - len(set(values)) for values in numbered.values())
    stray = sum(len(set(values) - set(range(produced.get(task, 0)))) for task, values in numbered.items())
    stored = sum(len(set(values)) for task, values in numbered.items() if task in produced)
    return {
        "produced": sum(produced.values()),
        "stored": stored,
        "missing": sum(produced.values()) - stored,
        "counted": counted,
        "duplicates": duplicates,
        "stray": stray,  # numbered by a task that never said how many it made (killed), or beyond it
        "tasks": len(produced),
    }
