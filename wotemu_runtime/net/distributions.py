"""iproute2's tables of netem's delay distributions (their names: contract.conditions.DISTRIBUTIONS)."""

import os
from pathlib import Path

DIST_SCALE = 8192  # NETEM_DIST_SCALE: table entries are deviations in units of sigma/8192
# Where iproute2 installs its tables on Debian/Ubuntu, Fedora and from source; $TC_LIB_DIR first.
_TABLE_DIRS = (
    "/usr/lib/x86_64-linux-gnu/tc",
    "/usr/lib/aarch64-linux-gnu/tc",
    "/usr/lib64/tc",
    "/usr/lib/tc",
)


def load_table(distribution: str) -> list[int] | None:
    """iproute2's table for `distribution`; None for uniform. FileNotFoundError if iproute2's are missing."""
    if distribution == "uniform":
        return None
    dirs = [os.environ["TC_LIB_DIR"]] if os.environ.get("TC_LIB_DIR") else []
    for directory in [*dirs, *_TABLE_DIRS]:
        path = Path(directory, f"{distribution}.dist")
        if path.exists():
            lines = (line.split("#")[0] for line in path.read_text().splitlines())
            return [int(value) for line in lines for value in line.split()]
    raise FileNotFoundError(f"no {distribution}.dist from iproute2 in {', '.join([*dirs, *_TABLE_DIRS])}")
