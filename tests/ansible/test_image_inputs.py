"""The runtime image's input hash (roles/runtime_image) covers what ships in it and nothing else.

Runs the role's own hashing tasks on copies of the project: editing a test bench must leave the hash
(so the image) as it is, while editing the runtime must change it.
"""

import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT, require_command

NOT_COPIED = shutil.ignore_patterns(".git", ".venv", ".cache", "collections", "results", "artifacts", "*.pyc")

PLAYBOOK = """\
- name: Hash the image's inputs
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Hash
      ansible.builtin.include_role:
        name: runtime_image
        tasks_from: inputs
        public: true  # the role's vars, runtime_image_inputs_hash among them
    - name: Write the hash
      ansible.builtin.copy:
        content: "{{ runtime_image_inputs_hash }}"
        dest: "{{ playbook_dir }}/inputs.hash"
        mode: "0644"
"""


def inputs_hash(project: Path) -> str:
    require_command("ansible-playbook")
    (project / "hash-inputs.yml").write_text(PLAYBOOK)
    proc = subprocess.run(
        # role_path is gone once the role returns: name the project the role would find itself.
        ["ansible-playbook", "hash-inputs.yml", "-e", f"runtime_image_project_dir={project}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return (project / "inputs.hash").read_text()


def copy_project(destination: Path) -> Path:
    shutil.copytree(ROOT, destination, ignore=NOT_COPIED)
    (destination / "collections").symlink_to(ROOT / "collections")
    return destination


def test_a_bench_change_keeps_the_image_and_a_runtime_change_rebuilds_it(tmp_path):
    project = copy_project(tmp_path / "project")
    before = inputs_hash(project)

    with open(project / "wotemu_testbench" / "lab.py", "a") as bench:
        bench.write("# an edited bench\n")
    assert inputs_hash(project) == before

    with open(project / "wotemu_runtime" / "net" / "gateway.py", "a") as runtime:
        runtime.write("# an edited runtime\n")
    assert inputs_hash(project) != before
