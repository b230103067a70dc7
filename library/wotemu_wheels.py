#!/usr/bin/python
"""Ansible module: the wheels of another architecture's runtime image, or the list of those missing.

A builder of another architecture than the control machine's (a Raspberry Pi beside x86 servers)
gets its wheelhouse from the control machine, which can only fetch published wheels for it. One
`pip download` of the lot stops at the first package it cannot find; this module resolves the
image's packages once (on the control machine, with the image's Python, so markers on the Python
version hold), then fetches each one's wheel for the target platforms on its own, so that a
failure names every package that lacks one.
"""

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: wotemu_wheels
short_description: Fetch a foreign architecture's wheels for the runtime image, naming any missing
description:
  - Resolves O(project_wheel) against O(constraints) with O(python)'s pip, then downloads a wheel
    of each resolved package for O(platforms) into O(dest). Fails, naming every package with no
    such wheel and O(hosts), if any is missing.
options:
  python:
    {description: The Python (the image's version) whose pip fetches., type: path, required: true}
  project_wheel: {description: The project's own wheel (already in O(dest))., type: path, required: true}
  constraints: {description: The lock., type: path, required: true}
  platforms:
    {description: pip platform tags the image's system can run., type: list, elements: str, required: true}
  python_version: {description: The image's Python version (e.g. 3.11)., type: str, required: true}
  find_links:
    {description: A directory of wheels of one's own, searched before the index., type: path, required: true}
  dest: {description: The wheelhouse., type: path, required: true}
  arch: {description: The architecture, for the message., type: str, required: true}
  hosts:
    {description: The hosts whose image this is, for the message., type: list, elements: str, required: true}
  jobs: {description: Downloads at a time., type: int, default: 8}
"""

RETURN = r"""
fetched:
  description: The packages whose wheels were fetched, as name==version.
  returned: success
  type: list
  elements: str
missing:
  description: The packages with no wheel for the platforms, as name==version.
  returned: failure
  type: list
  elements: str
"""


def _pip(python: str, *args: str) -> subprocess.CompletedProcess:
    # pip has no supported Python API: its command line is the interface.
    return subprocess.run([python, "-m", "pip", *args], capture_output=True, text=True, check=False)


def resolve(params: dict) -> list[str]:
    """name==version of every package the image installs beside the project."""
    done = _pip(
        params["python"], "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
        "--find-links", params["find_links"], "-c", params["constraints"], params["project_wheel"],
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"pip could not resolve the image's packages: {done.stderr.strip()}")
    installs = json.loads(done.stdout)["install"]
    return [
        f"{item['metadata']['name']}=={item['metadata']['version']}"
        for item in installs
        if not item["download_info"]["url"].endswith(params["project_wheel"].rsplit("/", 1)[-1])
    ]


def fetch(params: dict, requirement: str) -> bool:
    platforms = [f"--platform={platform}" for platform in params["platforms"]]
    done = _pip(
        params["python"], "--quiet", "download", "--no-deps", "--only-binary=:all:", *platforms,
        "--python-version", params["python_version"], "--implementation", "cp",
        "--find-links", params["find_links"], "--dest", params["dest"], requirement,
    )  # fmt: skip
    return done.returncode == 0


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "python": {"type": "path", "required": True},
            "project_wheel": {"type": "path", "required": True},
            "constraints": {"type": "path", "required": True},
            "platforms": {"type": "list", "elements": "str", "required": True},
            "python_version": {"type": "str", "required": True},
            "find_links": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "arch": {"type": "str", "required": True},
            "hosts": {"type": "list", "elements": "str", "required": True},
            "jobs": {"type": "int", "default": 8},
        },
    )
    params = module.params
    try:
        wanted = resolve(params)
    except (RuntimeError, ValueError, KeyError) as ex:
        module.fail_json(msg=str(ex))
    with ThreadPoolExecutor(params["jobs"]) as pool:
        found = dict(
            zip(wanted, pool.map(lambda requirement: fetch(params, requirement), wanted), strict=True)
        )
    missing = sorted((requirement for requirement, ok in found.items() if not ok), key=str.lower)
    if missing:
        module.fail_json(
            msg=(
                f"No {params['arch']} wheel (CPython {params['python_version']}; "
                f"{', '.join(params['platforms'])}) of {', '.join(missing)}: the runtime image of "
                f"{', '.join(params['hosts'])} needs them. Put a wheel of each, built on a "
                f"{params['arch']} machine, in {params['find_links']}."
            ),
            missing=missing,
        )
    module.exit_json(changed=True, fetched=sorted(found))


if __name__ == "__main__":
    main()
