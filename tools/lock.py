"""Write constraints.txt: the one lock, every package at one version, for the venvs and the image.

pip resolves pyproject.toml's dependencies and all its extras (without installing anything,
`--dry-run --report`) for each Python given, keeping the pins of the current lock (a new dependency
adds its own packages and moves nothing else) unless `--upgrade` asks for the newest allowed. Each
Python, because the control venv's and the image's can differ in their patch release, and environment
markers (`python_full_version < "3.11.3"`) pull in different
transitive packages. The union of the results, transitive packages included, becomes the
constraints file that `make setup`, `make test` and the runtime image's wheelhouse install with.
    usage: python tools/lock.py [--upgrade] OUTPUT PYTHON...      (`make lock`, `make lock-upgrade`)
"""

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# The one lock (written by `make lock` from pyproject.toml; do not edit): the exact version of every
# package, transitive ones included, that the control venv, the test venv and the runtime image install.
"""


def resolve(python: str, project: dict, keep: Path | None) -> dict[str, str]:
    extras = ",".join(sorted(project.get("optional-dependencies", {})))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([python, "-m", "venv", f"{tmp}/venv"], check=True)
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                f"{tmp}/venv/bin/python",
                "-m",
                "pip",
                "install",
                "--quiet",
                "--dry-run",
                "--ignore-installed",
                "--report",
                str(report),
                *(["--constraint", str(keep)] if keep else []),
                f"{ROOT}[{extras}]",
            ],
            check=True,
        )
        installs = json.loads(report.read_text())["install"]
    pins = {item["metadata"]["name"]: item["metadata"]["version"] for item in installs}
    pins.pop(project["name"])
    return pins


def main(output: str, pythons: list[str], upgrade: bool = False) -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    keep = None if upgrade or not Path(output).is_file() else Path(output).resolve()
    pins: dict[str, str] = {}
    for python in pythons:
        for name, version in resolve(python, project, keep).items():
            if pins.setdefault(name, version) != version:
                print(
                    f"tools/lock.py: {name} resolves to {pins[name]} and to {version} ({python})",
                    file=sys.stderr,
                )
                return 1
    lines = [f"{name}=={version}" for name, version in sorted(pins.items(), key=lambda kv: kv[0].lower())]
    Path(output).write_text(HEADER + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    upgrade = "--upgrade" in sys.argv[1:]
    args = [arg for arg in sys.argv[1:] if arg != "--upgrade"]
    if len(args) < 2:
        sys.exit(__doc__)
    sys.exit(main(args[0], args[1:], upgrade))
