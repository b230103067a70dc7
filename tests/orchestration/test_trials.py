"""`experiment.repeat: 3` through `wotemu run`: three real trials on the swarm, each with its own
seed, one bundle each, and the trial set's report with an interval for every key figure (the
fidelity probe's among them)."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_command, wotemu_run
from tests.report.htmltables import records, tables
from wotemu_runtime.control.trials import trial_seed

TOPOLOGY = Path(__file__).parent / "trials.yml"
STACK = "wtest-trials"


@pytest.fixture(scope="module")
def trial_set(tmp_path_factory):
    require_command("docker", "ansible-playbook")
    results = tmp_path_factory.mktemp("results")
    proc = subprocess.run(
        wotemu_run(TOPOLOGY, results),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    (trial_set,) = (results / STACK).glob("trials-*")
    return trial_set, proc.stdout


def test_three_trials_each_with_its_own_recorded_seed(trial_set):
    path, _ = trial_set
    manifest = json.loads((path / "manifest.json").read_text())
    seeds = [trial_seed(7, n) for n in (1, 2, 3)]
    assert [t["seed"] for t in manifest["trials"]] == seeds and len(set(seeds)) == 3
    for entry in manifest["trials"]:
        run = json.loads((path / entry["bundle"] / "run.json").read_text())
        assert run["run_id"] == entry["run_id"]
        assert run["overrides"]["experiment.seed"] == {"topology": 7, "in_force": entry["seed"]}
        assert (path / entry["bundle"] / "report.html").is_file()  # each trial has its own report too
    assert len({t["run_id"] for t in manifest["trials"]}) == 3


def test_the_trial_set_report_gives_every_figure_an_interval(trial_set):
    path, output = trial_set
    assert f"Report: {path / 'report.html'}" in output
    page = tables((path / "report.html").read_text())
    (design,) = records(page["designs"])
    assert design["trials"] == "3"
    figures = {(r["figure"], r["key"]): r[path.name] for r in records(page["figures"])}
    reads = figures[("latency p50 (ms)", "readproperty · http")]
    assert " [" in reads and " to " in reads, reads  # mean [low to high]
    assert figures[("error rate (%)", "readproperty · http")].startswith("0.00")
    # The fidelity probe's first round across the lan, in each trial: its 5 ms as measured, and
    # the round trips' tail, each with an interval over the three trials.
    for figure in ("probe one-way delay p50 (ms)", "probe RTT p95 (ms)"):
        assert " [" in figures[(figure, "lan · round 1")], figure
    one_way = float(figures[("probe one-way delay p50 (ms)", "lan · round 1")].split(" [")[0])
    assert 5.0 <= one_way <= 5.5, one_way  # the configured delay, plus a crossing's own time
