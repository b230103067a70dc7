"""The run's directory on the manager (under the shared /var/tmp by default) is made safely: the
private_dirs role (which the experiment and results roles use) refuses a symlink or someone else's
directory before touching it."""

import os
import subprocess

from tests.conftest import ROOT, require_command

PLAYBOOK = """\
- name: Make the run's directories as the deploy and the stop do
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The directory checks
      ansible.builtin.include_role:
        name: private_dirs
      vars:
        private_dirs_paths: ["{{ workdir }}", "{{ workdir }}/s", "{{ workdir }}/s/configs"]
"""


def make_dirs(tmp_path, workdir) -> subprocess.CompletedProcess:
    require_command("ansible-playbook")
    (tmp_path / "workdir.yml").write_text(PLAYBOOK)
    extravars = ["-e", f"workdir={workdir}"]
    return subprocess.run(
        ["ansible-playbook", str(tmp_path / "workdir.yml"), *extravars],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_fresh_directory_is_made_private(tmp_path):
    proc = make_dirs(tmp_path, tmp_path / "wotemu")
    assert proc.returncode == 0, proc.stdout[-3000:]
    for path in (tmp_path / "wotemu", tmp_path / "wotemu" / "s", tmp_path / "wotemu" / "s" / "configs"):
        assert path.is_dir() and oct(path.stat().st_mode & 0o777) == "0o700", path
    (tmp_path / "wotemu" / "s").chmod(0o755)
    assert "changed=1" in make_dirs(tmp_path, tmp_path / "wotemu").stdout  # made private again
    assert oct((tmp_path / "wotemu" / "s").stat().st_mode & 0o777) == "0o700"
    assert "changed=0" in make_dirs(tmp_path, tmp_path / "wotemu").stdout  # then nothing to do


def test_a_symlink_or_a_foreign_directory_is_refused_untouched(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    (tmp_path / "link").symlink_to(target)
    proc = make_dirs(tmp_path, tmp_path / "link")
    assert proc.returncode != 0 and "is a symlink, not a directory, or owned by someone else" in proc.stdout
    assert oct(target.stat().st_mode & 0o777) == "0o755" and not list(target.iterdir())  # not followed

    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o777)
    os.chown(foreign, 65534, 65534)  # nobody's: someone could swap the files in it
    proc = make_dirs(tmp_path, foreign)
    assert (
        proc.returncode != 0
        and f"{foreign} is a symlink, not a directory, or owned by someone else" in proc.stdout
    )
    assert not list(foreign.iterdir())
