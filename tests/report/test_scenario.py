"""The scenario in the report: a table of the changes with their lateness, and bands on every time plot."""

import html
import json

import pytest
from bokeh.model import Model
from bokeh.models import BoxAnnotation, DatetimeAxis, Plot

from report.bundle import load
from report.page import build_sections
from wotemu_runtime.control.probes import ACROSS_A_CHANGE, IN_A_PARTITION


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
    for section in build_sections(bundle):
        for block in section.blocks:
            if not isinstance(block, Model):
                continue
            for plot in block.select({"type": Plot}):
                if not any(isinstance(axis, DatetimeAxis) for axis in plot.xaxis):
                    continue
                time_plots += 1
                shaded = sorted(
                    (round(box.left), round(box.right), box.name.removeprefix("scenario-"))
                    for box in plot.select({"type": BoxAnnotation})
                    if box.name and box.name.startswith("scenario-")
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
