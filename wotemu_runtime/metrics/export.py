"""Export a run's records from Redis into the results bundle: one `<kind>.jsonl.gz` per kind."""

import gzip
import json
from pathlib import Path

import redis

from wotemu_runtime.contract import keys
from wotemu_runtime.contract.records import KINDS, total_drops  # KINDS: a file each, empty or not

_CHUNK = 5000  # stream entries per XRANGE round trip


def stream_kinds(client: redis.Redis, run_id: str) -> list[str]:
    """Every kind with a stream in this run: the standard ones plus any other found in Redis."""
    prefix = keys.record_stream(run_id, "")
    found = {key.decode()[len(prefix) :] for key in client.scan_iter(match=prefix + "*", count=1000)}
    return list(KINDS) + sorted(found - set(KINDS))


def iter_records(client: redis.Redis, run_id: str, kind: str):
    """The raw JSON of every record of one kind, in stream order, fetched in chunks."""
    stream = keys.record_stream(run_id, kind)
    start = "-"
    while True:
        entries = client.xrange(stream, min=start, max="+", count=_CHUNK)
        for _entry_id, fields in entries:
            yield fields[b"r"]
        if len(entries) < _CHUNK:
            return
        start = "(" + entries[-1][0].decode()  # exclusive: continue after the last entry


def export_kind(client: redis.Redis, run_id: str, kind: str, path: Path) -> int:
    """Write one kind's records to `path` (gzip JSON Lines, in stream order); return the count."""
    count = 0
    with gzip.open(path, "wb") as out:
        for raw in iter_records(client, run_id, kind):
            out.write(raw + b"\n")
            count += 1
    return count


def export_run(client: redis.Redis, run_id: str, out_dir: Path) -> dict[str, int]:
    """Export every kind of the run into `out_dir`; return {kind: records written}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        kind: export_kind(client, run_id, kind, out_dir / f"{kind}.jsonl.gz")
        for kind in stream_kinds(client, run_id)
    }


def drops_totals(client: redis.Redis, run_id: str) -> dict[str, int]:
    """Records dropped by writers during the run, summed per kind (run.json's `drops`)."""
    return total_drops(json.loads(raw) for raw in iter_records(client, run_id, "drops"))
