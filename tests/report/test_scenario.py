"""The scenario in the report: a table of the changes with their lateness, and bands on every time plot."""

import html
import json

import pytest
from bokeh.model import Model
from bokeh.models import BoxAnnotation, DatetimeAxis, Plot, Span

from report.bundle import load
from report.page import build_sections
from report.sections import summary
from wotemu_runtime.control.probes import ACROSS_A_CHANGE, IN_A_PARTITION


def _time_plots(sections):
    """(section, plot) of every plot with a time axis in the report's sections."""
    for section in sections:
        for block in section.blocks:
            for plot in block.select({"type": Plot}) if isinstance(block, Model) else ():
                if any(isinstance(axis, DatetimeAxis) for axis in plot.xaxis):
                    yield section, plot


def _scenario_marks(plot, kind):
    return [mark for mark in plot.select({"type": kind}) if mark.name and mark.name.startswith("scenario-")]


def test_the_action_table_gives_each_change_its_planned_time_and_lateness(built):
    rows = json.loads(built[1].read_text())["tables"]["scenario"]
    assert [(r["action"], r["change"], r["planned_s"]) for r in rows] == [
        (0, "start", 60.0),
        (1, "start", 120.0),
        (1, "end", 150.0),
    ]
    assert [r["lateness_ms"] for r in rows] == pytest.approx([2.0, 5.0, 8.0])
    assert rows[0]["what"] == "delay_ms 50.0 → 200.0" and rows[1]["what"] == "cut off: server.cell"
    assert "Each start and end of an action" in built[0].read_text()


def test_every_time_plot_shades_the_scenario(bundle_dir):
    bundle = load(bundle_dir)
    t0 = bundle.tables["scenario"]["planned_t"].min() - 60
    expected = [
        (round(1000 * (t0 + 60)), round(1000 * bundle.ended), "netem"),
        (round(1000 * (t0 + 120)), round(1000 * (t0 + 150)), "partition"),
    ]
    time_plots = 0
    for section, plot in _time_plots(build_sections(bundle)):
        time_plots += 1
        shaded = sorted(
            (round(box.left), round(box.right), box.name.removeprefix("scenario-"))
            for box in _scenario_marks(plot, BoxAnnotation)
        )
        assert shaded == expected, (section.id, plot.title.text)
    assert time_plots >= 10


def test_the_fidelity_section_counts_the_probe_rounds_left_out_and_why(bundle_dir):
    bundle = load(bundle_dir)
    bundle.run["probes_left_out"] = [
        {"network": "cell", "round": 2, "t": bundle.started + 60, "why": ACROSS_A_CHANGE},
        {"network": "cell", "round": 3, "t": bundle.started + 125, "why": IN_A_PARTITION},
        {"network": "lan", "round": 3, "t": bundle.started + 125, "why": IN_A_PARTITION},
    ]
    (fidelity,) = [s for s in build_sections(bundle) if s.id == "fidelity"]
    text = html.unescape(" ".join(str(block) for block in fidelity.blocks if isinstance(block, str)))
    assert "3 probe round(s) left out of the verdicts" in text, text
    assert f"1 {ACROSS_A_CHANGE}; 2 {IN_A_PARTITION}" in text, text


def test_each_kill_and_scale_change_is_listed_once_and_marked_on_every_time_plot(bundle_dir):
    bundle = load(bundle_dir)
    t0 = bundle.started
    kill = {"index": 3, "kind": "kill", "node": "reader", "service": "s_reader", "t_s": 70.0,
            "replicas": 2, "slots": [1, 3], "undo": False, "planned_t": t0 + 70}  # fmt: skip
    bundle.run["faults"] = [  # a kill that found one victim on each of two hosts, then a scale back
        {**kill, "host": "h2", "killed": ["s_reader.3.b"], "applied_t": t0 + 70.02, "lateness_s": 0.02},
        {**kill, "host": "h1", "killed": ["s_reader.1.a"], "applied_t": t0 + 70.01, "lateness_s": 0.01},
        {**kill, "kind": "scale", "index": 4, "t_s": 90.0, "replicas": 1, "slots": [], "undo": True,
         "planned_t": t0 + 90, "host": "h1", "applied_t": t0 + 90.3, "lateness_s": 0.3},
    ]  # fmt: skip
    sections = build_sections(bundle)
    (scenario,) = [s for s in sections if s.id == "scenario"]
    rows = scenario.tables["faults"].to_dict("records")
    assert [(r["action"], r["kind"], round(r["planned_s"], 3), r["what"], r["hosts"]) for r in rows] == [
        (3, "kill", 70.0, "killed 2: s_reader.1.a, s_reader.3.b", "h1, h2"),
        (4, "scale", 90.0, "back to 1 replicas", "h1"),
    ]
    assert [r["lateness_ms"] for r in rows] == pytest.approx([20.0, 300.0])
    marks, time_plots = [(round(1000 * (t0 + 70.01)), "kill"), (round(1000 * (t0 + 90.3)), "scale")], 0
    for section, plot in _time_plots(sections):
        time_plots += 1
        drawn = sorted(
            (round(span.location), span.name.removeprefix("scenario-"))
            for span in _scenario_marks(plot, Span)
        )
        assert drawn == marks, (section.id, plot.title.text)
    assert time_plots >= 10


def test_tasks_the_scenario_killed_are_not_reported_as_failures(bundle_dir):
    bundle = load(bundle_dir)
    running = bundle.tasks[bundle.tasks["state"] == "running"]
    tasks = running.head(3)["task"].tolist()
    failed_before = int(bundle.tasks["state"].isin(["failed", "rejected", "orphaned"]).sum())
    bundle.tasks.loc[bundle.tasks["task"].isin(tasks), "state"] = "failed"
    bundle.run["faults"] = [{"kind": "kill", "killed": tasks[:2]}]
    said = summary.warnings(bundle)
    assert f"{failed_before + 1} task(s) failed; see the Tasks section." in said
    assert any(line.startswith("2 task(s) were killed by the scenario, as planned") for line in said), said
