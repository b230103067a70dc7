"""A scenario on the one-node swarm, end to end: one deploy of scenario.yml, a delay step and a
partition applied by the gateway on time, seen in the readers' interactions, in the fidelity
probes' verdicts (each round judged against the conditions in force then) and in the report; and
a kill and a scale change applied from the control side on time, seen in tasks.json and the report.

The session's swarm and image serve it (`runtime_image`), so the run is its deploy, stop and report
phases only: what it adds to the suite is one short deploy."""

import gzip
import json
import subprocess
from datetime import datetime
from pathlib import Path
from statistics import median

import pytest

from tests.conftest import ROOT, require_command, wotemu_run
from wotemu_runtime.control.probes import IN_A_PARTITION

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TOPOLOGY = Path(__file__).parent / "scenario.yml"
STACK = "wtest-scen"
STEP_S, DELAY_MS, DELAY_CHANGE_MS = 10.0, 20.0, 100.0
CUT_S, CUT_FOR_S = 20.0, 15.0
SCALE_S, SCALED_TO, KILL_S = 28.0, 3, 42.0
DURATION_S = 50.0
READ_TIMEOUT_S = 2.0


def _records(bundle: Path, kind: str) -> list[dict]:
    with gzip.open(bundle / f"{kind}.jsonl.gz", "rt") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def scenario_run(runtime_image, tmp_path_factory):
    require_command("docker", "ansible-playbook")
    results = tmp_path_factory.mktemp("results")
    done = subprocess.run(
        [*wotemu_run(TOPOLOGY, results), "--tags", "deploy,stop,report"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    (bundle,) = (results / STACK).iterdir()
    run = json.loads((bundle / "run.json").read_text())
    started = datetime.fromisoformat(run["started_at"]).timestamp()
    reads = [
        {**r, "since_s": r["t"] - r["latency_s"] - started}  # when the read began, since the run's start
        for r in _records(bundle, "interactions")
        if r["side"] == "consumer" and r["verb"] == "readproperty"
    ]
    return {
        "bundle": bundle,
        "run": run,
        "started": started,
        "reads": reads,
        "actions": _records(bundle, "scenario"),
        "tasks": json.loads((bundle / "tasks.json").read_text()),
    }


def _between(reads: list[dict], lo: float, hi: float) -> list[dict]:
    return [r for r in reads if lo <= r["since_s"] < hi]


def test_each_change_was_applied_within_100_ms_of_its_time(scenario_run, artifacts_dir):
    actions = scenario_run["actions"]
    started = scenario_run["started"]
    # run.json's start and the window's are two readings of the control machine's clock, a moment apart.
    planned = sorted((a["action"], a["change"], a["planned_t"] - started) for a in actions)
    assert [(action, change) for action, change, _ in planned] == [(0, "start"), (1, "end"), (1, "start")]
    assert [t for _, _, t in planned] == pytest.approx([STEP_S, CUT_S + CUT_FOR_S, CUT_S], abs=0.01)
    lateness = [a["lateness_s"] for a in actions]
    assert all(0 <= late < 0.1 for late in lateness), lateness
    figures = {"lateness_ms": sorted(1000 * late for late in lateness)}
    (artifacts_dir / "scenario-lateness.json").write_text(json.dumps(figures))


def test_the_delay_step_shows_in_the_read_latencies(scenario_run):
    reads = [r for r in scenario_run["reads"] if r["ok"]]
    before = [r["latency_s"] for r in _between(reads, 2, STEP_S - 0.5)]
    after = [r["latency_s"] for r in _between(reads, STEP_S + 0.5, CUT_S - 0.5)]
    assert len(before) > 20 and len(after) > 20, (len(before), len(after))
    # A CoAP read is one round trip: each of its two crossings of the gateway takes the change.
    predicted = 2 * DELAY_CHANGE_MS / 1000
    change = median(after) - median(before)
    assert abs(change - predicted) <= 0.1 * predicted, (median(before), median(after))


def test_reads_fail_while_the_server_is_cut_off_and_recover_after(scenario_run):
    reads = scenario_run["reads"]
    # A read begun before the cut may still be answered in its first moments: judged from 0.5 s in.
    cut = _between(reads, CUT_S + 0.5, CUT_S + CUT_FOR_S - READ_TIMEOUT_S)
    assert len(cut) >= 6 and not any(r["ok"] for r in cut), [(r["since_s"], r["ok"]) for r in cut]
    healed = _between(reads, CUT_S + CUT_FOR_S + 1, KILL_S - READ_TIMEOUT_S)
    assert len(healed) > 10 and all(r["ok"] for r in healed), [(r["since_s"], r["error"]) for r in healed]


def test_the_report_shades_the_scenario_and_lists_its_actions(scenario_run):
    bundle = scenario_run["bundle"]
    html = (bundle / "report.html").read_text()
    assert "Each start and end of an action" in html and "Each kill and scale change" in html
    for kind in ("partition", "netem", "kill", "scale"):
        assert html.count(f"scenario-{kind}") >= 5, kind


def test_the_kill_and_the_scale_ran_on_time_and_show_in_the_tasks(scenario_run, artifacts_dir):
    run, started, tasks = scenario_run["run"], scenario_run["started"], scenario_run["tasks"]
    scale, kill = run["faults"]
    assert (scale["kind"], scale["replicas"]) == ("scale", SCALED_TO)
    assert kill["kind"] == "kill" and len(kill["killed"]) == 2 and set(kill["slots"]) < {1, 2, 3}
    for fault, at in ((kill, KILL_S), (scale, SCALE_S)):
        assert fault["planned_t"] - started == pytest.approx(at, abs=0.01)
        assert 0 <= fault["lateness_s"] < 2.0, fault
    readers = [t for t in tasks if t["service"] == "reader"]
    # The scale added slot 3 and replaced no reader: each slot has one task, and a second where the
    # kill crashed it (SIGKILL: 137) and Swarm started it again.
    crashed = [t for t in readers if t["exit_code"] == 137]
    assert sorted(t["task"] for t in crashed) == sorted(kill["killed"]), readers
    assert sorted(t["slot"] for t in readers) == sorted([1, 2, 3, *kill["slots"]]), readers
    reads = scenario_run["reads"]
    healed = _between(reads, CUT_S + CUT_FOR_S + 1, KILL_S)
    assert {r["task"].split(".")[1] for r in healed} == {"1", "2", "3"}  # the new one read once healed
    before_kill = set(kill["killed"]) | {r["task"] for r in healed}
    replacements = {t["task"] for t in readers} - before_kill
    assert replacements & {r["task"] for r in _between(reads, KILL_S, DURATION_S)}  # back, reading
    lateness = {fault["kind"]: 1000 * fault["lateness_s"] for fault in run["faults"]}
    (artifacts_dir / "scenario-fault-lateness.json").write_text(json.dumps({"lateness_ms": lateness}))


def test_the_probes_judge_each_round_against_the_conditions_then_and_leave_out_the_cut(scenario_run):
    """No false miss: a round after the step is judged against the stepped delay, not the initial one;
    a round during the cut (or across a change) has no verdict, and run.json and the report say so."""
    run, started = scenario_run["run"], scenario_run["started"]
    delays = [
        (r["t"] - started, r["target"], r["pass"]) for r in run["probes"] if r["parameter"] == "delay_ms"
    ]
    assert all(ok is True for _, _, ok in delays), delays
    assert any(t < STEP_S and abs(target - DELAY_MS) < 1 for t, target, _ in delays), delays
    stepped = DELAY_MS + DELAY_CHANGE_MS
    assert any(STEP_S < t < CUT_S and abs(target - stepped) < 1 for t, target, _ in delays), delays
    left_out = run["probes_left_out"]
    cut = [r for r in left_out if r["why"] == IN_A_PARTITION]
    # A round is 50 probes 10 ms apart: one begun up to a second or so before the cut crossed into it.
    assert cut and all(CUT_S - 2 < r["t"] - started < CUT_S + CUT_FOR_S + 1 for r in cut), left_out
    html = (scenario_run["bundle"] / "report.html").read_text()
    assert "NOT as configured" not in html
    assert f"{len(left_out)} probe round(s) left out of the verdicts" in html
