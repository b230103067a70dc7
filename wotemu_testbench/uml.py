"""Run a lab plan inside user-mode Linux, where sch_netem exists (the host kernel may lack it).

UML boots the Debian `user-mode-linux` kernel on the host's own root file system (hostfs), so the
project's Python and venv are visible inside. The init script loads the modules the network plane
needs, runs `python -m wotemu_testbench.lab run PLAN RESULTS`, and powers off. UML writes only to
a scratch directory (its memory file, the plan, the results, the logs) and tmpfs mounts inside.
"""

import ctypes
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from wotemu_testbench.lab import REPO

UML_MODULES = Path("/usr/lib/uml/modules")
# Qdiscs, veth and bridge, and the legacy iptables tables and matches the gateway and the nodes
# use (Debian's UML kernel has nf_tables without its IPv4 family, so iptables-nft cannot work
# there: the init puts iptables-legacy first on PATH). modprobe brings the dependencies.
MODULES = [
    "sch_netem",
    "sch_tbf",
    "veth",
    "bridge",
    "iptable_filter",
    "iptable_mangle",
    "xt_tcpudp",
    "xt_mark",
    "xt_comment",
]

# Inside, only the SSE part of the FPU state survives a context switch (see _hide_xstate), so
# glibc is told not to use AVX in UML's processes.
_INIT = """#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME={scratch} PYTHONDONTWRITEBYTECODE=1
export GLIBC_TUNABLES={tunables}
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /run
mkdir -p {scratch}/tmp
mount -t tmpfs tmpfs {scratch}/tmp
export TMPDIR={scratch}/tmp
mkdir -p /run/modroot/lib/modules /run/netns /run/bin
ln -s /usr/sbin/iptables-legacy /run/bin/iptables
ln -s /usr/sbin/iptables-legacy-restore /run/bin/iptables-restore
export PATH=/run/bin:$PATH
ln -s {modules} /run/modroot/lib/modules/{version}
for module in {module_list}; do modprobe -d /run/modroot "$module" || echo "modprobe $module failed"; done
# Every iptables-legacy call makes the kernel ask modprobe for bpfilter, which this kernel lacks;
# under UML each of those modprobes cost about a second (a gateway took 36-110 s to start, a
# node's route child over 20 s). Everything needed is loaded above, so autoloading is turned off.
echo > /proc/sys/kernel/modprobe
ip link set lo up
cd {repo}
{python} -m wotemu_testbench.lab run {scratch}/plan.json {scratch}/results.json > {scratch}/lab.log 2>&1
echo "lab exit $?" >> {scratch}/lab.log
poweroff -f
"""


def _hide_xstate() -> None:
    """Make ptrace(PTRACE_{GET,SET}REGSET, NT_X86_XSTATE) fail with EIO for UML (a seccomp filter).

    UML 6.1 saves its processes' FPU state through NT_X86_XSTATE with a buffer of fixed size;
    hosts whose CPUs have AMX need a far larger one and refuse with EFAULT, so init dies at once
    ("ptrace set fp regs failed, errno = 14"). When the XSTATE request fails at boot, UML falls back
    to PTRACE_GETFPREGS/SETFPREGS (x87 and SSE), which work everywhere. Runs in the child before exec.
    """
    ld, jeq, ret = 0x20, 0x15, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
    allow, eio = 0x7FFF0000, 0x00050000 | 5  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EIO
    program = [
        (ld, 0, 0, 4),
        (jeq, 0, 7, 0xC000003E),  # seccomp_data.arch == AUDIT_ARCH_X86_64
        (ld, 0, 0, 0),
        (jeq, 0, 5, 101),  # nr == __NR_ptrace
        (ld, 0, 0, 16),
        (jeq, 1, 0, 0x4204),
        (jeq, 0, 2, 0x4205),  # request: GETREGSET or SETREGSET
        (ld, 0, 0, 32),
        (jeq, 1, 0, 0x202),  # addr == NT_X86_XSTATE
        (ret, 0, 0, allow),
        (ret, 0, 0, eio),
    ]
    filters = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
    fprog = ctypes.create_string_buffer(struct.pack("HxxxxxxQ", len(program), ctypes.addressof(filters)))
    libc = ctypes.CDLL(None, use_errno=True)
    ulong = ctypes.c_ulong
    if libc.prctl(38, ulong(1), ulong(0), ulong(0), ulong(0)):  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if libc.prctl(22, ulong(2), ulong(ctypes.addressof(fprog)), ulong(0), ulong(0)):  # PR_SET_SECCOMP, FILTER
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


_NO_AVX = "glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-FMA,-AVX_Fast_Unaligned_Load"


class UmlError(Exception):
    """UML did not boot, or the plan failed inside it."""


def uml_version() -> str:
    versions = sorted(path.name for path in UML_MODULES.iterdir()) if UML_MODULES.is_dir() else []
    if not versions:
        raise UmlError(f"no UML kernel modules in {UML_MODULES} (install Debian's user-mode-linux)")
    return versions[-1]


def run_plan_in_uml(plan: list[dict], timeout: float = 600, mem: str = "768M") -> dict:
    """Boot UML once, run `plan` in a lab there: {"steps": [step + "result"], "gateways": [their info]}."""
    if shutil.which("linux.uml") is None:
        raise UmlError("linux.uml not found (install Debian's user-mode-linux)")
    version = uml_version()
    # Scratch files stay inside this directory (a tmpfs within it is UML's TMPDIR): the checkout,
    # the venv and everything else of the host stay visible, wherever they are (/tmp included).
    scratch = Path(tempfile.mkdtemp(prefix="wtn-uml-", dir="/var/tmp"))
    try:
        (scratch / "plan.json").write_text(json.dumps(plan))
        init = scratch / "init.sh"
        init.write_text(
            _INIT.format(
                scratch=scratch,
                modules=UML_MODULES / version,
                version=version,
                module_list=" ".join(MODULES),
                repo=REPO,
                python=sys.executable,
                tunables=_NO_AVX,
            )
        )
        init.chmod(0o755)
        umid = f"wtn-{os.getpid()}-{scratch.name[-6:]}"
        argv = [
            "linux.uml",
            f"mem={mem}",
            "root=/dev/root",
            "rootfstype=hostfs",
            "rootflags=/",
            "rw",
            f"umid={umid}",
            f"uml_dir={scratch}",
            f"init={init}",
            "con=null",
            "con0=null,fd:1",
        ]
        env = {**os.environ, "TMPDIR": str(scratch)}  # UML's memory file goes there
        with open(scratch / "console.log", "wb") as console:
            try:
                subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=console,
                    stderr=subprocess.STDOUT,
                    env=env,
                    timeout=timeout,
                    check=False,
                    preexec_fn=_hide_xstate,
                )
            except subprocess.TimeoutExpired as ex:
                raise UmlError(f"UML did not finish within {timeout} s; {_tail(scratch)}") from ex
        results = scratch / "results.json"
        if not results.exists():
            raise UmlError(f"the lab inside UML wrote no results; {_tail(scratch)}")
        return json.loads(results.read_text())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _tail(scratch: Path) -> str:
    parts = []
    for name in ("lab.log", "console.log"):
        path = scratch / name
        if path.exists():
            parts.append(f"{name}:\n" + "\n".join(path.read_text(errors="replace").splitlines()[-60:]))
    return "\n".join(parts) or "no logs"
