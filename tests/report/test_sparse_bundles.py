"""Bundles with whole kinds of records missing: the sections say so instead of failing."""

import gzip
import json

import pytest

from tests.report.htmltables import tables
from wotemu_runtime.cli import main as wotemu
from wotemu_testbench.synthetic import generate


@pytest.mark.parametrize(
    ("options", "absent"),
    [
        ({"interactions_n": 0, "events_n": 0}, ["No interaction records in this bundle.",
                                                 "No event or subscription records in this bundle."]),
        ({"interactions_n": 2_000, "with_traffic": False}, ["No traffic records in this bundle."]),
    ],
)  # fmt: skip
def test_sections_without_records(tmp_path, options, absent):
    bundle = generate(tmp_path / "bundle", tasks_n=12, **options)
    output = tmp_path / "out" / "custom.html"
    output.parent.mkdir()
    assert wotemu(["report", str(bundle), "-o", str(output), "--json"]) == 0
    html = output.read_text()
    for text in absent:
        assert text in html
    summary = json.loads(output.with_suffix(".json").read_text())
    assert summary["run_id"] == "synthetic-20250115T100000"
    assert "tasks-per-service" in tables(html)


def test_a_bundle_with_only_metadata(tmp_path):
    """Every table empty (as gzip files with no records): still a report, every section saying so."""
    bundle = generate(tmp_path / "bundle", interactions_n=0, events_n=0, tasks_n=12, with_traffic=False)
    for kind in ("system", "app", "lifecycle", "info", "drops"):
        (bundle / f"{kind}.jsonl.gz").write_bytes(gzip.compress(b""))
    assert wotemu(["report", str(bundle)]) == 0
    html = (bundle / "report.html").read_text()
    for what in ("interaction records", "system samples", "traffic records", "app-defined metrics"):
        assert f"No {what} in this bundle." in html
