"""Install the Ansible collections the playbooks use, without Galaxy.

Galaxy is not reachable from every machine we run on, but the pinned `ansible` distribution
on PyPI carries the collections: download that one wheel and extract only what we need.
"""

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ANSIBLE_DISTRIBUTION = "ansible==12.3.0"
COLLECTIONS = ("community/docker", "community/library_inventory_filtering_v1", "ansible/posix")


def main(target: str) -> int:
    dest = Path(target)
    if all((dest / "ansible_collections" / name / "MANIFEST.json").exists() for name in COLLECTIONS):
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, ANSIBLE_DISTRIBUTION],
            check=True,
        )
        (wheel,) = Path(tmp).glob("ansible-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            prefixes = tuple(f"ansible_collections/{name}/" for name in COLLECTIONS)
            archive.extractall(dest, [n for n in archive.namelist() if n.startswith(prefixes)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "collections"))
