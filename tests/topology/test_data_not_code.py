"""A topology file is data: no way of giving it to the playbooks evaluates its values."""

import subprocess
from pathlib import Path

from tests.conftest import ROOT, require_command

EVIL = """\
networks: [{{name: cell}}]
nodes:
  - name: a
    app: {{builtin: clock}}
    networks: [cell]
    env: {{WHO: "{{{{ lookup('pipe', 'touch {marker}') }}}}"}}
"""


def _playbook(*args: str) -> subprocess.CompletedProcess:
    require_command("ansible-playbook")
    # `--tags none` runs only what is tagged `always`: the check that comes before provisioning.
    return subprocess.run(
        ["ansible-playbook", "run-experiment.yml", "--tags", "none", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_topology_given_as_variables_is_refused_unread(tmp_path: Path):
    marker = tmp_path / "evaluated"
    evil = tmp_path / "evil.yml"
    evil.write_text(EVIL.format(marker=marker))
    result = _playbook("-e", f"@{evil}")
    assert result.returncode != 0
    assert "-e topology=FILE" in result.stdout
    assert not marker.exists(), "the file's template ran on the control machine"


def test_a_topology_file_is_read_as_data(tmp_path: Path):
    marker = tmp_path / "evaluated"
    evil = tmp_path / "evil.yml"
    evil.write_text(EVIL.format(marker=marker))
    result = _playbook("-e", f"topology={evil}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not marker.exists(), "the file's template ran on the control machine"
