"""The examples are acceptance tests: every topology in topologies/ and every whole topology in the
README, run end to end by `wotemu run` on the one-node swarm, shortened, as a new user runs them.

The cluster example needs the three-node swarm: tests/cluster runs it and asserts the same things
through the helpers here. The quickstart is the README's first topology less its second network and
broker (readme-1 here), and tests/fresh runs it as a newcomer does, through `make experiment`, with
the same checks. One swarm and one runtime image serve every run of the session.
"""

import json
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT, require_command, run_playbook
from tests.examples.checks import (
    assert_consumers_succeed,
    assert_health_table_agrees,
    assert_nothing_recorded_after_the_end,
    assert_only_the_error_app_crashes,
    assert_the_stop_breaks_no_subscription,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

DURATION_S = 20
# The README's whole topologies; its fragments (a `link`, a `scenario` shown alone) are not runs.
README_TOPOLOGIES = [
    topology
    for topology in (
        yaml.safe_load(block)
        for block in re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    )
    if isinstance(topology, dict) and {"networks", "nodes"} <= topology.keys()
]
EXAMPLES = {
    **{path.stem: yaml.safe_load(path.read_text()) for path in sorted((ROOT / "topologies").glob("*.yml"))},
    **{f"readme-{index}": topology for index, topology in enumerate(README_TOPOLOGIES, 1)},
}
EXAMPLES.pop("cluster")  # tests/cluster/test_cluster.py runs it on the three-node swarm
EXAMPLES.pop("quickstart")  # tests/fresh/test_fresh_machine.py runs it


@pytest.fixture(scope="session")
def swarm_with_image(request):
    """The swarm provisioned, then the image built, once: each run then needs only its own phases."""
    run_playbook("playbooks/provision.yml")
    return request.getfixturevalue("runtime_image")


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def example(request, swarm_with_image, tmp_path_factory):
    """One example, under a stack name of the tests, run for DURATION_S through `wotemu run`."""
    require_command("docker", "ansible-playbook")
    name = request.param
    work = tmp_path_factory.mktemp(f"example-{name}")
    topology = json.loads(json.dumps(EXAMPLES[name]))
    topology.setdefault("experiment", {})["name"] = f"wtest-ex-{name}"
    path = work / f"{name}.yml"
    path.write_text(yaml.safe_dump(topology, sort_keys=False))
    results = work / "results"
    # One trial each, even of a topology that asks for more (tests/orchestration/test_trials.py runs those).
    command = [sys.executable, "-m", "wotemu_runtime", "run", str(path), "--tags", "deploy,stop,report"]
    command += ["--repeat", "1"]
    proc = subprocess.run(
        [*command, "-e", f"experiment_duration={DURATION_S}", "-e", f"experiment_results_dir={results}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    (bundle,) = (results / f"wtest-ex-{name}").iterdir()
    return {"name": name, "bundle": bundle, "topology": topology}


def test_every_consumer_succeeds_as_its_network_allows(example):
    assert_consumers_succeed(example["bundle"])


def test_no_interaction_is_recorded_after_the_runs_end(example):
    assert_nothing_recorded_after_the_end(example["bundle"])


def test_the_health_table_leads_the_report_and_agrees(example):
    assert_health_table_agrees(example["bundle"])


def test_the_stop_breaks_no_subscription(example):
    assert_the_stop_breaks_no_subscription(example["bundle"])


def test_only_the_error_app_crashes(example):
    assert_only_the_error_app_crashes(example["bundle"])


def test_run_json_records_the_duration_in_force(example):
    run = json.loads((example["bundle"] / "run.json").read_text())
    assert run["topology"]["experiment"]["duration"] == DURATION_S
    configured = run["overrides"]["experiment.duration"]
    assert configured == {"topology": configured["topology"], "in_force": DURATION_S}
    assert configured["topology"] != DURATION_S
    assert f"experiment.duration: {configured['topology']:g} → {DURATION_S:g} (in force)" in (
        (example["bundle"] / "report.html").read_text()
    )
