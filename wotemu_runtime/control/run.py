"""`wotemu run`: the experiment playbook through ansible-runner, with a live progress line.

The playbook stays the one source of truth; this only drives it and tells the user, as it goes,
which phase runs, how many services are ready, the time left in the run and the records so far.
ansible-runner's working directory is kept for every run under `<results>/.runner/<stack>-<UTC time>/`
(its job events, the whole playbook output): the run id is only chosen inside the playbook, and a run
that fails before it is chosen must leave its output too.
"""

import json
import os
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


class Progress:
    """Turns ansible-runner events into one status line per step, and remembers the report path."""

    def __init__(self, out=sys.stderr):
        self.out = out
        self.phase = ""
        self.task = ""
        self.report = None
        self.failures = []
        self.run_started = None
        self.run_seconds = None

    def _say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=self.out, flush=True)

    def __call__(self, event: dict) -> bool:
        kind, data = event.get("event"), event.get("event_data", {})
        if kind == "playbook_on_play_start":
            self.phase = data.get("play", "")
            self._say(f"== {self.phase}")
        elif kind == "playbook_on_task_start":
            self.task = data.get("task", "")
            self._say(f"   {self.task}")
        elif kind == "runner_retry":
            self._retry(data)
        elif kind == "runner_on_ok":
            self._ok(data)
        elif kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            result = data.get("res", {})
            reason = result.get("msg") or result.get("stderr") or json.dumps(result)[:2000]
            self.failures.append(f"{data.get('task', '')}: {reason}")
        return True

    def _status(self, result: dict) -> dict | None:
        try:
            return json.loads(result.get("stdout") or "")
        except ValueError:
            return None

    def _retry(self, data: dict) -> None:
        result = data.get("res", {})
        status = self._status(result)
        if status is None:
            self._say(f"      waiting ({result.get('attempts')}/{result.get('retries')})")
            return
        ready = status["nodes_ready"]
        line = f"      {len(status['gateways'])} gateways shaping, {ready} node tasks ready so far"
        if self.run_started is not None:
            left = max(0.0, self.run_seconds - (time.time() - self.run_started))
            line += f", {left:.0f} s left"
        self._say(f"{line}, {status['records_total']} records")

    def _ok(self, data: dict) -> None:
        facts = data.get("res", {}).get("ansible_facts", {})
        if "experiment_started_ts" in facts:
            self.run_started = float(facts["experiment_started_ts"])
            self.run_seconds = float(facts["experiment_run_seconds"])
        if "report_html" in facts:
            self.report = facts["report_html"]
        message = data.get("res", {}).get("msg")
        if isinstance(message, str) and (data.get("task_action") or "").endswith("debug"):
            self._say(f"      {message}")  # what a phase tells the user (how Docker was started...)


def runner_dir(results_dir: str, stack: str) -> Path:
    """A new directory for ansible-runner's files of this run (kept afterwards)."""
    path = Path(results_dir, ".runner", f"{stack}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _output_tail(artifacts: Path, lines: int = 40) -> str:
    """The end of the playbook's output: the reason of a failure no task reported (a syntax error...)."""
    stdout = artifacts / "stdout"
    text = stdout.read_text(errors="replace") if stdout.exists() else ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def results_dir(extravars: dict) -> Path:
    return Path(extravars.get("experiment_results_dir", str(PROJECT / "results")))


def run(topology: str, stack: str, inventory: str | None, extravars: dict, tags: str | None = None) -> int:
    """The playbook, with progress; what it reports and, on failure, why. Returns its exit code."""
    rc, progress = play(topology, stack, inventory, extravars, tags)
    if rc == 0 and progress.report:
        print(f"Report: {progress.report}")
    return rc


def play(
    topology: str, stack: str, inventory: str | None, extravars: dict, tags: str | None = None
) -> tuple[int, Progress]:
    import ansible_runner

    progress = Progress()
    # ansible-runner starts `ansible-playbook` from PATH: the one installed beside this Python.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    private = runner_dir(str(results_dir(extravars)), stack)
    result = ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(PROJECT),
        playbook="run-experiment.yml",
        inventory=str(Path(inventory or PROJECT / "inventory" / "local.yml").resolve()),
        extravars={"topology": str(Path(topology).resolve()), **extravars},
        envvars={"ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg")},
        tags=tags,
        event_handler=progress,
        quiet=True,
    )
    artifacts = Path(result.config.artifact_dir)
    print(f"The playbook's output and job events: {artifacts}", file=sys.stderr)
    if result.rc != 0 or result.status != "successful":
        reasons = progress.failures or [
            _output_tail(artifacts) or f"ansible-runner ended {result.status} while running: {progress.task}"
        ]
        print(f"The experiment failed (ansible-runner {result.status}, rc {result.rc}):", file=sys.stderr)
        for reason in reasons:
            print(f"  {reason}", file=sys.stderr)
        return result.rc or 1, progress
    return 0, progress
