"""`experiment.duration: manual` (or `wotemu run --manual`): a run that lasts until it is stopped."""

from pathlib import Path

import pytest

from report.sections.summary import overrides
from wotemu_runtime import cli
from wotemu_runtime.control import run as control_run
from wotemu_runtime.control.live import describe, phase
from wotemu_runtime.control.runinfo import ended_at, in_force
from wotemu_runtime.topology.errors import TopologyError
from wotemu_runtime.topology.normalise import build_stack_model
from wotemu_runtime.topology.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
RUN = "demo-20260101T000000"


def topology(duration):
    doc = {
        "experiment": {"name": "demo", "duration": duration},
        "networks": [{"name": "cell"}],
        "nodes": [{"name": "clock", "app": {"builtin": "clock"}, "networks": ["cell"]}],
    }
    return validate_document(doc, "test.yml", base_dir=ROOT)


def test_a_manual_duration_has_no_planned_end():
    model = build_stack_model(topology("manual"), RUN, base_dir=ROOT)
    assert model["duration_s"] is None
    assert model["topology"]["experiment"]["duration"] == "manual"


def test_the_manual_override_is_recorded_and_in_force_in_run_json():
    model = build_stack_model(topology("30s"), RUN, base_dir=ROOT, duration="manual")
    assert model["duration_s"] is None
    assert model["overrides"] == {"experiment.duration": {"topology": 30.0, "in_force": "manual"}}
    assert in_force(model["topology"], model["overrides"])["experiment"]["duration"] == "manual"
    assert overrides(model["overrides"]) == "experiment.duration: 30 → manual (in force)"  # the report's line


def test_other_words_are_refused():
    with pytest.raises(TopologyError, match="duration"):
        topology("forever")


def test_a_manual_run_ends_when_the_stop_began():
    began = "2026-01-01T00:10:00+00:00"
    assert ended_at("2026-01-01T00:00:00+00:00", None, began) == began


def test_run_manual_flag_and_stop_drive_the_playbook(monkeypatch):
    calls = []
    monkeypatch.setattr(control_run, "run", lambda *args: calls.append(args) or 0)
    topology_file = str(ROOT / "topologies" / "quickstart.yml")
    assert cli.main(["run", topology_file, "--manual"]) == 0
    assert cli.main(["stop", topology_file, "-e", "experiment_results_dir=/tmp/r"]) == 0
    (_, stack, _, extravars, tags), (_, _, _, stop_extravars, stop_tags) = calls
    assert stack == "quickstart"
    assert extravars == {"experiment_manual": True} and tags is None
    assert stop_extravars == {"experiment_results_dir": "/tmp/r"} and stop_tags == "stop,report"
    assert cli.main(["run", topology_file, "--manual", "--repeat", "3"]) == 2  # a manual run is one run
    assert len(calls) == 2


STATUS = {
    "gateways": {"cell": "netem"},
    "nodes_ready": 3,
    "records": {"interaction": 40},
    "records_total": 40,
}


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (None, "deploying"),
        ({"started": 100.0, "ends": None}, "running until stopped (manual)"),
        ({"started": 100.0, "ends": 200.0}, "running, 50 s left"),
        ({"started": 100.0, "ends": 120.0}, "over"),
    ],
)
def test_status_phase_follows_the_window(window, expected):
    assert phase({**STATUS, "window": window}, now=150.0).startswith(expected)


def test_status_lines_from_the_control_machine():
    lines = describe("demo", {**STATUS, "window": {"started": 100.0, "ends": None}}, now=150.0)
    assert lines[1:] == [
        "gateways shaping: 1: cell (netem)",
        "node tasks ready so far: 3",
        "since start: 50 s",
        'records so far: 40 {"interaction": 40}',
    ]
