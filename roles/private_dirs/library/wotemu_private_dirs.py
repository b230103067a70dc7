#!/usr/bin/python
"""Ansible module: directories private to the remote user, made without following a symlink.

One call does what stat, file and stat again did in several tasks (each a second or more of the
deploy and of the stop): a path that exists must be our own directory, not a symlink; a missing one
is made; then each is opened without following a symlink and made mode 0700 through its descriptor,
so that what is checked is what is changed.
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: wotemu_private_dirs
short_description: Make directories private to the remote user, refusing symlinks and others' directories
description:
  - For each path, parent first, refuses one that exists and is a symlink, not a directory, or owned
    by someone else; makes a missing one; and sets mode 0700 on it through a descriptor opened
    without following symlinks.
options:
  paths: {description: The directories, parent first., required: true, type: list, elements: path}
"""

RETURN = r"""
made:
  description: The paths that did not exist before.
  returned: always
  type: list
  elements: str
"""

REFUSING = "refusing to keep the run's files there."
REFUSED = "{path} is a symlink, not a directory, or owned by someone else (uid {uid}): " + REFUSING
SWAPPED = "{path} changed while it was being made ({why}): " + REFUSING


def _refusal(path: str) -> str | None:
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid():
        return None
    return REFUSED.format(path=path, uid=found.st_uid)


def _make_private(path: str, check_mode: bool) -> tuple[bool, bool]:
    """(made, changed) for one path, which `_refusal` passed."""
    made = not os.path.lexists(path)
    if check_mode:
        return made, made or stat.S_IMODE(os.lstat(path).st_mode) != 0o700
    if made:
        os.mkdir(path, 0o700)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as ex:
        raise ValueError(SWAPPED.format(path=path, why=ex.strerror)) from ex
    try:
        found = os.fstat(fd)
        if found.st_uid != os.getuid():
            raise ValueError(SWAPPED.format(path=path, why=f"owned by uid {found.st_uid}"))
        changed = made or stat.S_IMODE(found.st_mode) != 0o700
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return made, changed


def main() -> None:
    module = AnsibleModule(
        argument_spec={"paths": {"type": "list", "elements": "path", "required": True}},
        supports_check_mode=True,
    )
    made, changed = [], False
    for path in module.params["paths"]:
        refusal = _refusal(path)
        if refusal:
            module.fail_json(msg=refusal, made=made)
        try:
            was_made, was_changed = _make_private(path, module.check_mode)
        except (OSError, ValueError) as ex:
            module.fail_json(msg=str(ex), made=made)
        if was_made:
            made.append(path)
        changed |= was_changed
        if module.check_mode and was_made:
            break  # what is below a directory that check mode did not make cannot be looked at
    module.exit_json(changed=changed, made=made)


if __name__ == "__main__":
    main()
