"""cgroup v1 and v2 parsing on fixture trees, and a live sample on this machine."""

import time
from pathlib import Path

import psutil

from wotemu_runtime.metrics import system

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_cgroup_v1_docker_layout():
    cg = system.find_cgroup(FIXTURES / "cgroup_v1")
    assert cg.version == 1
    assert system.read_cpu_usage_s(cg) == 2.5
    assert system.read_cpu_limit_cores(cg) == 0.5
    # usage 100 MiB minus 10 MiB of inactive page cache; limit 150 MiB
    assert system.read_memory(cg) == (94371840, 157286400)


def test_cgroup_v2_with_limits():
    cg = system.find_cgroup(FIXTURES / "cgroup_v2")
    assert cg.version == 2
    assert system.read_cpu_usage_s(cg) == 7.25
    assert system.read_cpu_limit_cores(cg) == 1.5
    assert system.read_memory(cg) == (62914560 - 4194304, 268435456)
    fields = system.sample_fields(cg, cpu_pct=75.0)
    assert fields["cpu_limit_cores"] == 1.5
    assert fields["cpu_pct_of_limit"] == 50.0
    assert fields["mem_pct_of_limit"] == round(100 * (62914560 - 4194304) / 268435456, 3)


def test_cgroup_v2_nested_path_without_limits():
    cg = system.find_cgroup(FIXTURES / "cgroup_v2_nested_unlimited")
    assert cg.cpu_dir.name == "wotemu.scope"
    assert system.read_cpu_limit_cores(cg) is None
    assert system.read_memory(cg) == (1048576, None)
    fields = system.sample_fields(cg, cpu_pct=100.0)
    # Without limits the percentages are of the host's cores and memory.
    assert fields["cpu_pct_of_limit"] == round(100.0 / psutil.cpu_count(), 3)
    assert fields["mem_limit_bytes"] is None


def test_proc_cgroup_parsing():
    paths = system.parse_proc_cgroup("4:cpu,cpuacct:/docker/x\n1:name=systemd:/y\n0::/z\n")
    assert paths == {"cpu": "/docker/x", "cpuacct": "/docker/x", "name=systemd": "/y", "": "/z"}


class ListWriter:
    def __init__(self):
        self.records = []

    def write(self, kind, **fields):
        self.records.append((kind, fields))


def test_live_sample_on_this_machine():
    cg = system.find_cgroup()
    assert cg is not None, "this machine has a cgroup file system"
    writer = ListWriter()
    sampler = system.SystemSampler(writer, cg, period_s=0.2).start()
    end = time.monotonic() + 0.6
    while time.monotonic() < end:  # keep a core busy so the sample has something to see
        pass
    sampler.stop()
    samples = [fields for kind, fields in writer.records if kind == "system"]
    assert len(samples) >= 3
    for sample in samples:
        assert 0 <= sample["cpu_pct"] <= 100 * psutil.cpu_count() * 1.2
        assert sample["mem_bytes"] > 0
        assert 0 < sample["mem_pct_of_limit"] <= 100
    assert max(s["cpu_pct"] for s in samples) > 20  # the busy loop shows
    info = system.info_fields(cg, role="test")
    assert info["cpu_count"] == psutil.cpu_count() and info["cgroup_version"] == cg.version
    assert info["versions"]["wotpy"] == "0.18.0"
