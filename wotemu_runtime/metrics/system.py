"""CPU and memory of this container against its own limits (cgroup v1 and v2), plus host info.

The cgroup readers take the file-system root and the text of /proc/self/cgroup as arguments, so
tests run them on fixture trees. Inside a container the cgroup file system shows the container's
own cgroup at the mount point (cgroup namespaces, or Docker's bind mount under v1); on a plain
host it is found by the path /proc/self/cgroup names.
"""

import logging
import os
import platform
import socket
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

# cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit number, or near it.
_V1_UNLIMITED = 2**62


@dataclass(frozen=True)
class Cgroup:
    """Where this process's cgroup files are. v1 has one directory per controller."""

    version: int
    cpu_dir: Path  # v1: the cpuacct controller's directory; v2: the unified directory
    memory_dir: Path
    quota_dir: Path | None  # v1: the cpu controller's directory (CFS quota), if mounted


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Map controller name -> cgroup path from /proc/self/cgroup ("" is the v2 unified entry)."""
    paths = {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                paths[controller] = parts[2]
    return paths


def _controller_dir(mount: Path, cgroup_path: str, probe: str) -> Path | None:
    """The cgroup's own directory under `mount` if visible there, else the mount itself."""
    for candidate in (mount / cgroup_path.lstrip("/"), mount):
        if (candidate / probe).is_file():
            return candidate
    return None


def find_cgroup(root: Path = Path("/"), proc_cgroup: str | None = None) -> Cgroup | None:
    """Locate this process's cgroup under `root`/sys/fs/cgroup; None when there is none."""
    if proc_cgroup is None:
        proc_cgroup = (root / "proc/self/cgroup").read_text()
    paths = parse_proc_cgroup(proc_cgroup)
    base = root / "sys/fs/cgroup"
    v1_cpu = paths.get("cpuacct")
    v1_mem = paths.get("memory")
    if v1_cpu is not None and v1_mem is not None:
        # cpu and cpuacct are often co-mounted as "cpu,cpuacct" (with symlinks), sometimes apart.
        cpu_dir = _controller_dir(base / "cpuacct", v1_cpu, "cpuacct.usage")
        quota_dir = _controller_dir(base / "cpu", paths.get("cpu", v1_cpu), "cpu.cfs_quota_us")
        mem_dir = _controller_dir(base / "memory", v1_mem, "memory.usage_in_bytes")
        if cpu_dir and mem_dir:
            return Cgroup(1, cpu_dir, mem_dir, quota_dir)
    if "" in paths:
        unified = _controller_dir(base, paths[""], "cpu.stat")
        if unified:
            return Cgroup(2, unified, unified, unified)
    return None


def read_cpu_usage_s(cg: Cgroup) -> float:
    """CPU time used by the cgroup so far, in seconds."""
    if cg.version == 1:
        return int((cg.cpu_dir / "cpuacct.usage").read_text()) / 1e9
    for line in (cg.cpu_dir / "cpu.stat").read_text().splitlines():
        name, value = line.split()
        if name == "usage_usec":
            return int(value) / 1e6
    raise ValueError(f"{cg.cpu_dir / 'cpu.stat'}: no usage_usec")


def read_cpu_limit_cores(cg: Cgroup) -> float | None:
    """The CFS quota in cores (quota / period); None when unlimited."""
    if cg.version == 1:
        if cg.quota_dir is None:
            return None
        quota = int((cg.quota_dir / "cpu.cfs_quota_us").read_text())
        period = int((cg.quota_dir / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 else None
    cpu_max = cg.cpu_dir / "cpu.max"
    if not cpu_max.is_file():
        return None  # the root cgroup has no cpu.max
    quota, period = cpu_max.read_text().split()
    return None if quota == "max" else int(quota) / int(period)


def _stat_value(path: Path, name: str) -> int:
    for line in path.read_text().splitlines():
        key, value = line.split()
        if key == name:
            return int(value)
    return 0


def read_memory(cg: Cgroup) -> tuple[int, int | None]:
    """(working-set bytes, limit bytes or None). The working set leaves out inactive page cache,
    as `docker stats` does: the kernel reclaims it before it would hit the limit."""
    if cg.version == 1:
        usage = int((cg.memory_dir / "memory.usage_in_bytes").read_text())
        inactive = _stat_value(cg.memory_dir / "memory.stat", "total_inactive_file")
        limit = int((cg.memory_dir / "memory.limit_in_bytes").read_text())
        return max(usage - inactive, 0), (limit if limit < _V1_UNLIMITED else None)
    usage_file = cg.memory_dir / "memory.current"
    if not usage_file.is_file():  # the root cgroup: no memory.current
        vm = psutil.virtual_memory()
        return vm.total - vm.available, None
    usage = int(usage_file.read_text())
    inactive = _stat_value(cg.memory_dir / "memory.stat", "inactive_file")
    limit_text = (cg.memory_dir / "memory.max").read_text().strip()
    return max(usage - inactive, 0), (None if limit_text == "max" else int(limit_text))


def sample_fields(cg: Cgroup, cpu_pct: float) -> dict:
    """A `system` record's fields: CPU (100 = one core) and memory against the cgroup's limits.
    Without a limit, the percentages are of the host's cores and memory."""
    cpu_limit = read_cpu_limit_cores(cg)
    mem_bytes, mem_limit = read_memory(cg)
    cpu_capacity = cpu_limit or os.cpu_count() or 1
    mem_capacity = (
        min(mem_limit, psutil.virtual_memory().total) if mem_limit else psutil.virtual_memory().total
    )
    return {
        "cpu_pct": round(cpu_pct, 3),
        "cpu_limit_cores": cpu_limit,
        "cpu_pct_of_limit": round(cpu_pct / cpu_capacity, 3),
        "mem_bytes": mem_bytes,
        "mem_limit_bytes": mem_limit,
        "mem_pct_of_limit": round(100.0 * mem_bytes / mem_capacity, 3),
    }


def info_fields(cg: Cgroup | None, **role_fields) -> dict:
    """The `info` record written once per process at start."""
    versions = {}
    for dist in ("wotpy", "redis", "psutil", "pyroute2"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    from wotemu_runtime import __version__

    versions["wotemu"] = __version__
    return {
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "mem_total": psutil.virtual_memory().total,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "cgroup_version": cg.version if cg else None,
        "pid": os.getpid(),
        **role_fields,
    }


class SystemSampler:
    """A thread writing a `system` record every `period_s` through a MetricsWriter."""

    def __init__(self, writer, cg: Cgroup, period_s: float = 2.0):
        self._writer = writer
        self._cg = cg
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="system-sampler", daemon=True)

    def start(self) -> "SystemSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop and write a last sample, so the end of the run is covered."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last_usage, last_mono = read_cpu_usage_s(self._cg), time.monotonic()
        while True:
            stopping = self._stop.wait(self._period_s)
            try:
                usage, mono = read_cpu_usage_s(self._cg), time.monotonic()
                cpu_pct = 100.0 * (usage - last_usage) / max(mono - last_mono, 1e-6)
                last_usage, last_mono = usage, mono
                self._writer.write("system", **sample_fields(self._cg, cpu_pct))
            except (OSError, ValueError) as ex:
                log.warning("system sample failed: %s", ex)
            if stopping:
                return


def start_system_metrics(writer, config: dict, **role_info) -> SystemSampler | None:
    """Write the `info` record and start sampling at config["system_period_s"] (default 2 s)."""
    cg = find_cgroup()
    writer.write("info", **info_fields(cg, **role_info))
    if cg is None:
        log.warning("no cgroup found: no system metrics")
        return None
    return SystemSampler(writer, cg, float(config.get("system_period_s") or 2.0)).start()
