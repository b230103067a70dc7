"""Export a run's records from Redis into the results bundle: one `<kind>.jsonl.gz` per kind."""

import gzip
import heapq
import json
import tarfile
from pathlib import Path

import redis

from wotemu_runtime.contract import keys
from wotemu_runtime.contract.records import KINDS, total_drops  # KINDS: a file each, empty or not

_CHUNK = 5000  # stream entries per XRANGE round trip


def record_streams(client: redis.Redis, run_id: str) -> dict[str, list[str]]:
    """Every writer's record stream in this run, per kind: {kind: [stream key, ...]}."""
    streams: dict[str, list[str]] = {}
    for key in client.scan_iter(match=keys.record_stream(run_id, "*", "*"), count=1000, _type="stream"):
        stream = key.decode() if isinstance(key, bytes) else key
        streams.setdefault(keys.record_stream_parts(run_id, stream)[1], []).append(stream)
    return streams


def _entry_order(entry: tuple) -> tuple[int, int]:
    milliseconds, sequence = entry[0].split(b"-")
    return int(milliseconds), int(sequence)


def _entries(client: redis.Redis, stream: str):
    """One stream's entries in order, fetched in chunks."""
    start = "-"
    while True:
        entries = client.xrange(stream, min=start, max="+", count=_CHUNK)
        yield from entries
        if len(entries) < _CHUNK:
            return
        start = "(" + entries[-1][0].decode()  # exclusive: continue after the last entry


def iter_records(client: redis.Redis, run_id: str, kind: str, streams: list[str] | None = None):
    """The raw JSON of every record of one kind from every writer, in the order Redis stored them
    (entry ids are the store's clock, so the merge is the order one shared stream would have had)."""
    if streams is None:
        streams = record_streams(client, run_id).get(kind, [])
    for _entry_id, fields in heapq.merge(*(_entries(client, s) for s in streams), key=_entry_order):
        yield fields[b"r"]


def export_kind(client: redis.Redis, run_id: str, kind: str, path: Path, streams: list[str]) -> int:
    """Write one kind's records from `streams` to `path` (gzip JSON Lines, in stored order);
    return the count."""
    count = 0
    with gzip.open(path, "wb") as out:
        for raw in iter_records(client, run_id, kind, streams):
            out.write(raw + b"\n")
            count += 1
    return count


def export_run(client: redis.Redis, run_id: str, out_dir: Path) -> dict[str, int]:
    """Export every kind of the run into `out_dir` (the standard ones, empty or not, and any other
    found in Redis); return {kind: records written}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    streams = record_streams(client, run_id)
    kinds = list(KINDS) + sorted(set(streams) - set(KINDS))
    return {
        kind: export_kind(client, run_id, kind, out_dir / f"{kind}.jsonl.gz", streams.get(kind, []))
        for kind in kinds
    }


def archive_tables(out_dir: Path, name: str) -> Path | None:
    """Move the exported tables into one tar in `out_dir` (uncompressed: each is gzip already), so
    that the control machine fetches one file, not one per kind; None when there is none."""
    archive = out_dir / name
    tables = sorted(out_dir.glob("*.jsonl.gz"))
    if not tables:
        return None
    with tarfile.open(archive, "w") as tar:
        for table in tables:
            tar.add(table, arcname=table.name)
    for table in tables:
        table.unlink()
    return archive


def drops_totals(client: redis.Redis, run_id: str) -> dict[str, int]:
    """Records dropped by writers during the run, summed per kind (run.json's `drops`)."""
    return total_drops(json.loads(raw) for raw in iter_records(client, run_id, "drops"))
