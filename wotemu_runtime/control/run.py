"""`wotemu run`: the experiment playbook through ansible-runner, with a live progress line.

The playbook stays the one source of truth; this only drives it and tells the user, as it goes,
which phase runs, how many services are ready, the time left in the run and the records so far.
"""

import json
import os
import sys
import tempfile
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
        line = f"      {len(status['gateways'])} gateways shaping, {status['nodes_ready']} nodes ready"
        if self.run_started is not None:
            left = max(0.0, self.run_seconds - (time.time() - self.run_started))
            line += f", {left:.0f} s left"
        self._say(f"{line}, {status['records_total']} records")

    def _ok(self, data: dict) -> None:
        facts = data.get("res", {}).get("ansible_facts", {})
        if "experiment_started_ts" in facts:
            self.run_started = float(facts["experiment_started_ts"])
            self.run_seconds = float(facts["experiment_run_seconds"])
        message = data.get("res", {}).get("msg")
        if isinstance(message, str) and message.startswith("Report: "):
            self.report = message.removeprefix("Report: ")


def run(topology: str, inventory: str | None, extravars: dict, tags: str | None = None) -> int:
    import ansible_runner

    progress = Progress()
    # ansible-runner starts `ansible-playbook` from PATH: the one installed beside this Python.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="wotemu-runner-") as private:
        result = ansible_runner.run(
            private_data_dir=private,
            project_dir=str(PROJECT),
            playbook="run-experiment.yml",
            inventory=str(Path(inventory or PROJECT / "inventory" / "local.yml").resolve()),
            extravars={"topology": str(Path(topology).resolve()), **extravars},
            envvars={"ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg")},
            tags=tags,
            event_handler=progress,
            quiet=True,
        )
    if result.rc != 0:
        print("The experiment failed:", file=sys.stderr)
        for failure in progress.failures:
            print(f"  {failure}", file=sys.stderr)
        if not progress.failures:  # killed, timed out or crashed: no task reported why
            print(
                f"  ansible-playbook ended with status {result.status} (rc {result.rc})"
                f" while running: {progress.task}",
                file=sys.stderr,
            )
        return result.rc or 1
    if progress.report:
        print(f"Report: {progress.report}")
    return 0
