#!/usr/bin/python
"""Ansible module: a run's service config files, all written in one call.

A loop of ansible.builtin.copy tasks cost about a second per service on every deploy. Each file is
written as copy writes it: to a temporary file beside it, then renamed over it, so that a reader
never sees half of one; a file whose content and mode are already right is left alone.
"""

import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: wotemu_config_files
short_description: Write the stack model's service config files, each atomically, in one call
description:
  - Writes each entry's O(configs[].content) to its O(configs[].file), mode 0644, through a
    temporary file in the same directory renamed over it. Parents must exist.
options:
  configs:
    description: The stack model's C(config_file) entries (C(name) and C(target) are the stack file's).
    type: list
    elements: dict
    required: true
    suboptions:
      file: {description: Where the file goes on the manager., type: path, required: true}
      content: {description: What it holds., type: str, required: true}
      name: {description: The Swarm config's name., type: str}
      target: {description: Where containers find it., type: str}
"""

RETURN = r"""
written:
  description: The files whose content or mode changed.
  returned: always
  type: list
  elements: str
"""

MODE = 0o644


def _current(path: str, content: bytes) -> bool:
    try:
        found = os.lstat(path)
        if not stat.S_ISREG(found.st_mode) or stat.S_IMODE(found.st_mode) != MODE:
            return False
        with open(path, "rb") as existing:
            return existing.read() == content
    except FileNotFoundError:
        return False


def _write(path: str, content: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".wotemu-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.chmod(temporary, MODE)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "configs": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "file": {"type": "path", "required": True},
                    "content": {"type": "str", "required": True},
                    "name": {"type": "str"},
                    "target": {"type": "str"},
                },
            }
        },
        supports_check_mode=True,
    )
    written = []
    for entry in module.params["configs"]:
        content = entry["content"].encode()
        if _current(entry["file"], content):
            continue
        if not module.check_mode:
            try:
                _write(entry["file"], content)
            except OSError as ex:
                module.fail_json(msg=f"Cannot write {entry['file']}: {ex}", written=written)
        written.append(entry["file"])
    module.exit_json(changed=bool(written), written=written)


if __name__ == "__main__":
    main()
