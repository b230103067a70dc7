"""The roles write the stack file with the project's renderer: what Ansible deploys is what
`wotemu compose` prints and the golden files hold (no re-templating of Swarm's {{.Task.Name}});
and the topology file is read and validated once per run, whatever the phases that follow."""

import shutil
import subprocess

from tests.conftest import ROOT, require_command
from tests.topology.test_rendering import GOLDEN

PLAYBOOK = """\
- name: Read the topology as the first play of a run does
  hosts: localhost
  gather_facts: false
  roles:
    - role: topology
      topology_file: "{{ topology }}"

- name: Write the stack files as the roles do, once the file is gone
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Remove the topology file, which no later phase may read again
      ansible.builtin.file:
        path: "{{ topology }}"
        state: absent
    - name: Read the topology again, as each phase does
      ansible.builtin.include_role:
        name: topology
      vars:
        topology_file: "{{ topology }}"
    - name: Build the model
      ansible.builtin.set_fact:
        stack_model: "{{ hostvars['localhost']['topology_document']
          | wotemu_stack(project, run_id='quickstart-20260101T000000') }}"
    - name: Write the stack file
      ansible.builtin.copy:
        content: "{{ stack_model | wotemu_stack_file }}"
        dest: "{{ out }}/stack.yml"
        mode: "0600"
    - name: Write the stack file with every stop wave scaled down
      ansible.builtin.copy:
        content: "{{ stack_model | wotemu_stopped(stack_model.stop_waves | length) | wotemu_stack_file }}"
        dest: "{{ out }}/stack-stopped.yml"
        mode: "0600"
"""


def test_the_roles_stack_file_is_the_renderers(tmp_path):
    require_command("ansible-playbook")
    (tmp_path / "write.yml").write_text(PLAYBOOK)
    topology = shutil.copy(ROOT / "topologies" / "quickstart.yml", tmp_path / "quickstart.yml")
    extravars = [f"topology={topology}", f"project={ROOT}", f"out={tmp_path}"]
    proc = subprocess.run(
        ["ansible-playbook", str(tmp_path / "write.yml"), *(arg for var in extravars for arg in ("-e", var))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    written = (tmp_path / "stack.yml").read_text().replace(str(ROOT), "{ROOT}")
    assert written == (GOLDEN / "quickstart.stack.yml").read_text()
    stopped = (tmp_path / "stack-stopped.yml").read_text()
    assert stopped.count("replicas: 0") == 3 and stopped.count("replicas: 1") == 1  # all but the store
