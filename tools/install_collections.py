"""Install the Ansible collections of requirements.yml, at their pinned versions, without Galaxy.

Galaxy is not reachable from every machine we run on, but the `ansible` distribution on PyPI carries
the collections: download that one wheel (the release that bundles the pinned versions) and extract
only the collections the requirements name, then check their versions against the pins.
    usage: python tools/install_collections.py [REQUIREMENTS [TARGET]]
"""

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

# The release of the PyPI `ansible` distribution whose bundled collections are the pinned versions.
ANSIBLE_DISTRIBUTION = "ansible==12.3.0"


def pinned(requirements: Path) -> dict[str, str]:
    entries = yaml.safe_load(requirements.read_text())["collections"]
    return {entry["name"]: str(entry["version"]) for entry in entries}


def installed(target: Path, name: str) -> str | None:
    manifest = target / "ansible_collections" / name.replace(".", "/") / "MANIFEST.json"
    return json.loads(manifest.read_text())["collection_info"]["version"] if manifest.exists() else None


def extract(target: Path, names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, ANSIBLE_DISTRIBUTION],
            check=True,
        )
        (wheel,) = Path(tmp).glob("ansible-*.whl")
        for name in names:  # no file of another version stays behind
            shutil.rmtree(target / "ansible_collections" / name.replace(".", "/"), ignore_errors=True)
        with zipfile.ZipFile(wheel) as archive:
            prefixes = tuple(f"ansible_collections/{name.replace('.', '/')}/" for name in names)
            archive.extractall(target, [n for n in archive.namelist() if n.startswith(prefixes)])


def main(requirements: str, target: str) -> int:
    pins, dest = pinned(Path(requirements)), Path(target)
    if all(installed(dest, name) == version for name, version in pins.items()):
        return 0
    extract(dest, list(pins))
    found = {name: installed(dest, name) for name in pins}
    wrong = {name: version for name, version in found.items() if version != pins[name]}
    if wrong:
        print(
            f"{requirements}: {ANSIBLE_DISTRIBUTION} carries {wrong}, not the pinned versions {pins}; "
            "pin the versions it carries, or change ANSIBLE_DISTRIBUTION in tools/install_collections.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*(sys.argv[1:] or ["requirements.yml", "collections"])))
