"""A foreign builder's wheelhouse (library/wotemu_wheels.py): a package with no wheel is named.

A Raspberry Pi's image gets only published wheels. Asked for a platform tag too old for most of
the lock's compiled packages (manylinux1), the module must name each of them with its locked
version and the hosts that need the image, while it still fetches the pure-Python rest: the same
failure a lock that gained a package without aarch64 wheels would meet on a Pi's builder.
"""

import json
import subprocess
import sys

from tests.conftest import ROOT, require_command


def test_every_package_without_a_wheel_is_named_with_the_hosts(tmp_path):
    require_command("ansible")
    wheelhouse = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "--quiet", "wheel", "--no-deps", "--wheel-dir", wheelhouse, ROOT],
        check=True,
    )
    (project_wheel,) = wheelhouse.glob("wotemu-*.whl")
    args = {
        "python": sys.executable,
        "project_wheel": str(project_wheel),
        "constraints": str(ROOT / "constraints.txt"),
        "platforms": ["manylinux1_aarch64"],
        "python_version": "3.11",
        "find_links": str(tmp_path / "local-wheels"),
        "dest": str(wheelhouse),
        "arch": "aarch64",
        "hosts": ["rpi1", "rpi2"],
        "jobs": 16,
    }
    done = subprocess.run(
        ["ansible", "localhost", "-m", "wotemu_wheels", "-a", json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0, done.stdout
    locked = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().split() if "==" in line)
    message = next(line for line in done.stdout.splitlines() if '"msg"' in line)
    assert "No aarch64 wheel (CPython 3.11; manylinux1_aarch64) of " in message
    for package in ("cryptography", "cbor2", "pydantic_core"):
        version = locked.get(package) or locked[package.replace("_", "-")]
        assert f"{package}=={version}" in message, message
    assert "the runtime image of rpi1, rpi2 needs them" in message
    assert f"in {tmp_path / 'local-wheels'}" in message
    # Pure-Python packages have a wheel for any platform: they were fetched, and are not named.
    assert "wotpy==" not in message and list(wheelhouse.glob("wotpy-*-py3-none-any.whl"))
