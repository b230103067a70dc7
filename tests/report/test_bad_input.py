"""A missing or malformed bundle gives one clear error naming the file and what is wrong (a bad
record is set aside instead: test_set_aside.py), and
`wotemu report` exits with code 1 and that message."""

import json
import subprocess
import sys

import pytest

from report.bundle import BundleError, load
from tests.conftest import ROOT
from wotemu_runtime.cli import main as wotemu


def error_of(path) -> str:
    with pytest.raises(BundleError) as caught:
        load(path)
    return str(caught.value)


def test_reads_typed_frames(bundle):
    loaded = load(bundle)
    interactions = loaded.tables["interactions"]
    assert len(interactions) == 10_000
    assert interactions["latency_s"].dtype == "float64" and interactions["ok"].dtype == "bool"
    assert str(interactions["verb"].dtype) == "category"
    assert loaded.tasks["created_at"].dt.tz is not None
    assert loaded.tables["app"]["value"].dtype == "float64"
    assert loaded.run["schema_version"] == 1


def test_empty_directory(tmp_path):
    assert (
        error_of(tmp_path)
        == f"{tmp_path}: empty directory, not a results bundle (no run.json, tasks.json or tables)"
    )


def test_not_a_directory(tmp_path):
    assert "no such directory" in error_of(tmp_path / "nowhere")


def test_missing_table(bundle):
    (bundle / "events.jsonl.gz").unlink()
    assert error_of(bundle).startswith(f"{bundle / 'events.jsonl.gz'}: missing")


def test_missing_run_json(bundle):
    (bundle / "run.json").unlink()
    assert error_of(bundle) == f"{bundle / 'run.json'}: missing"


def test_truncated_table(bundle):
    path = bundle / "interactions.jsonl.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = error_of(bundle)
    assert message.startswith(f"{path}: truncated or corrupt gzip file"), message


def test_not_gzip(bundle):
    path = bundle / "system.jsonl.gz"
    path.write_text('{"t": 1}\n')
    assert error_of(bundle).startswith(f"{path}: not a readable gzip file")


def test_wrong_schema_version(bundle):
    path = bundle / "run.json"
    run = json.loads(path.read_text())
    run["schema_version"] = 2
    path.write_text(json.dumps(run))
    assert error_of(bundle) == f"{path}: schema_version 2 is not supported (this report reads 1)"


def test_bad_json_run(bundle):
    path = bundle / "run.json"
    path.write_text('{"schema_version": 1,')
    assert error_of(bundle).startswith(f"{path}: not valid JSON: ")


def test_run_json_missing_keys(bundle):
    path = bundle / "run.json"
    run = json.loads(path.read_text())
    del run["gateways"], run["hosts"]
    path.write_text(json.dumps(run))
    assert error_of(bundle) == f"{path}: missing keys: hosts, gateways"


def test_tasks_not_a_list(bundle):
    path = bundle / "tasks.json"
    path.write_text("{}")
    assert error_of(bundle) == f"{path}: expected a JSON list of task objects"


def test_cli_reports_the_error_and_exits_1(bundle, capsys):
    (bundle / "app.jsonl.gz").unlink()
    assert wotemu(["report", str(bundle)]) == 1
    assert f"wotemu report: {bundle / 'app.jsonl.gz'}: missing" in capsys.readouterr().err
    assert not (bundle / "report.html").exists()


def test_cli_exit_code_in_a_real_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", "report", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "empty directory, not a results bundle" in result.stderr
