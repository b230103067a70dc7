"""Every record is checked against its kind's model: a bad one is set aside, named by file, line
and field, and counted in the report's first section — never a silent gap, never a traceback."""

import gzip
import json

from report import bundle as bundle_module
from report.bundle import load
from wotemu_runtime.cli import main as wotemu


def rewrite(path, change) -> None:
    """Rewrite a table with `change(records)`: a list of dicts or raw lines (bytes)."""
    records = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines() if line.strip()]
    out = change(records)
    path.write_bytes(
        gzip.compress(b"".join(r if isinstance(r, bytes) else json.dumps(r).encode() + b"\n" for r in out))
    )


def report_of(bundle) -> tuple[str, dict]:
    assert wotemu(["report", str(bundle), "--json"]) == 0
    return (bundle / "report.html").read_text(), json.loads((bundle / "report.json").read_text())


def test_records_lacking_latency_are_set_aside_and_counted(bundle):
    path = bundle / "interactions.jsonl.gz"

    def change(records):
        records = records[:2000]
        for record in records[100:495]:
            del record["latency_s"]
        return records

    rewrite(path, change)
    loaded = load(bundle)
    refused = loaded.set_aside["interactions"]
    kept = len(loaded.tables["interactions"]) + len(loaded.after_end["interactions"])
    assert (refused.count, kept) == (395, 1605)
    assert refused.reasons == {"latency_s: missing": 395}
    assert refused.examples == [
        "line 101: latency_s: missing",
        "line 102: latency_s: missing",
        "line 103: latency_s: missing",
    ]
    html, _ = report_of(bundle)
    assert "interactions.jsonl.gz: 395 records set aside — latency_s: missing (395)" in html


def test_one_record_without_ok(bundle):
    rewrite(
        bundle / "interactions.jsonl.gz",
        lambda records: [*records[:50], {k: v for k, v in records[50].items() if k != "ok"}, *records[51:]],
    )
    loaded = load(bundle)
    assert loaded.set_aside["interactions"].examples == ["line 51: ok: missing"]
    assert loaded.tables["interactions"]["ok"].dtype == "bool"
    html, _ = report_of(bundle)
    assert "1 records set aside — ok: missing (1)" in html


def test_wrong_types_and_nulls(bundle):
    def change(records):
        records[0]["latency_s"] = "fast"
        records[1]["ok"] = "yes"
        records[2]["t"] = None
        records[3]["service"] = 7
        records[4]["latency_s"] = True
        records[5]["protocol"] = None  # may be null (the producer side)
        return records

    rewrite(bundle / "interactions.jsonl.gz", change)
    refused = load(bundle).set_aside["interactions"]
    assert refused.count == 5
    assert refused.examples == [
        "line 1: latency_s: str 'fast', expected float",
        "line 2: ok: str 'yes', expected bool",
        "line 3: t: null",
    ]
    assert set(refused.reasons) == {
        "latency_s: str 'fast', expected float", "ok: str 'yes', expected bool", "t: null",
        "service: int 7, expected str", "latency_s: bool True, expected float",
    }  # fmt: skip


def test_garbage_lines(bundle):
    def change(records):
        return [b"\x00\xffnot json\n", *records[:10], b'{"network": "cell", \n', b"[1, 2]\n", *records[10:]]

    rewrite(bundle / "traffic.jsonl.gz", change)
    loaded = load(bundle)
    refused = loaded.set_aside["traffic"]
    assert refused.count == 3
    assert [example.split(":")[0] for example in refused.examples] == ["line 1", "line 12", "line 13"]
    assert "line 13: not a JSON object but list" in refused.examples
    html, _ = report_of(bundle)
    assert "traffic.jsonl.gz: 3 records set aside" in html


def test_free_form_kinds_are_checked_too(bundle):
    rewrite(
        bundle / "drops.jsonl.gz",
        lambda records: [{"run_id": "r", "service": "s", "task": "t", "t": 1.0, "mono": 1.0}],
    )
    refused = load(bundle).set_aside["drops"]
    assert refused.examples == ["line 1: kind: missing"]


def test_a_valid_bundle_sets_nothing_aside(bundle):
    assert load(bundle).set_aside == {}


def test_records_not_stored_are_a_health_warning(bundle):
    path = bundle / "run.json"
    run = json.loads(path.read_text())
    run["unstored"] = {"reader": {"app": 12, "lifecycle": 1}}
    path.write_text(json.dumps(run))
    html, report = report_of(bundle)
    expected = (
        "Service reader: records not stored (its writer could not reach the store): 12 app, 1 lifecycle."
    )
    assert expected in html
    assert expected in [row["warning"] for row in report["tables"]["health_warnings"]]


def test_bad_records_among_many_cost_only_their_chunk(bundle, monkeypatch):
    """Chunks without a bad record are read fast and kept whole; only the bad lines go, wherever
    they are (the first chunk, the last, a truncated last line)."""
    monkeypatch.setattr(bundle_module, "CHUNK_LINES", 1000)
    path = bundle / "interactions.jsonl.gz"
    total = len(load(bundle).tables["interactions"]) + len(load(bundle).after_end["interactions"])

    def change(records):
        records[5]["t"] = "yesterday"
        del records[4321]["task"]
        return [*records, json.dumps(records[0]).encode()[:40]]

    rewrite(path, change)
    loaded = load(bundle)
    kept = len(loaded.tables["interactions"]) + len(loaded.after_end["interactions"])
    assert (loaded.set_aside["interactions"].count, kept) == (3, total - 2)
    assert loaded.set_aside["interactions"].examples[:2] == [
        "line 6: t: str 'yesterday', expected float",
        "line 4322: task: missing",
    ]
