"""Write constraints.txt: the one lock, every package at one version, for the venv and the image.

pip resolves pyproject.toml's dependencies and all its extras afresh for this Python (without
installing anything, `--dry-run --report`); the result, transitive packages included, becomes the
constraints file that `make setup`, `make test` and the runtime image's wheelhouse install with.
    usage: python tools/lock.py [OUTPUT]      (`make lock`)
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


def resolve() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = ",".join(sorted(project.get("optional-dependencies", {})))
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--dry-run",
                "--ignore-installed",
                "--report",
                str(report),
                f"{ROOT}[{extras}]",
            ],
            check=True,
        )
        installs = json.loads(report.read_text())["install"]
    pins = {item["metadata"]["name"]: item["metadata"]["version"] for item in installs}
    pins.pop(project["name"])
    return [f"{name}=={version}" for name, version in sorted(pins.items(), key=lambda kv: kv[0].lower())]


def main(output: str) -> int:
    Path(output).write_text(HEADER + "\n".join(resolve()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "constraints.txt")))
