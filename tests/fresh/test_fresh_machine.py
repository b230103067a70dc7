"""The README's main command on a truly fresh Debian system, from a clean clone: set-up included.

The system is a container made from a minimal Debian root file system (debootstrap minbase with
python3 and make, nothing else: no Docker, no venv, no compiler), run with what a Docker engine
inside needs (the three-node cluster's node options). There, `make experiment` alone must install
the system packages, the venv, Docker (started with no service manager), build the runtime image and
end with a report; a second `make experiment` must start no second dockerd and rebuild nothing.

Inside a container HTTPS to the package registries fails certificate verification (the host trusts
CAs a fresh image does not): the host's CA bundle is passed in and named by the variables pip and
Python's ssl read. apt goes over plain http and needs nothing.
"""

import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

import docker
import pytest

from tests.conftest import ROOT, require_command
from tests.examples.checks import (
    assert_consumers_succeed,
    assert_health_table_agrees,
    assert_nothing_recorded_after_the_end,
    assert_only_the_error_app_crashes,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.fresh, pytest.mark.timeout(1800)]

IMAGE = "wotemu-fresh:bookworm"  # kept between runs, as the cluster's node image is
PACKAGES = ["python3", "make"]  # a Debian machine with Python, and the README's command
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
CA_IN_CONTAINER = "/etc/wotemu-host-ca.crt"  # not the system path: ca-certificates, once installed, owns that
CA_ENV = {name: CA_IN_CONTAINER for name in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
CHECKOUT = "/root/wotemu"
NAME = f"wtfresh-{os.getpid()}"
RUN_PHASES = (
    "Provision | Docker engines and the swarm",
    "Build image | The runtime image on every swarm node",
)


def _fresh_image(client: docker.DockerClient) -> str:
    if not client.images.list(name=IMAGE):
        require_command("debootstrap")
        subprocess.run(
            [
                ROOT / "docker" / "bootstrap-base.sh",
                IMAGE,
                "bookworm",
                "http://deb.debian.org/debian",
                *PACKAGES,
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return IMAGE


def _clean_clone(tmp: Path) -> bytes:
    """The repository's HEAD as git clones it (nothing uncommitted, nothing ignored), as a tar archive."""
    clone = tmp / "wotemu"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.add(clone, arcname=Path(CHECKOUT).name)
    return archive.getvalue()


def _make_experiment(machine, log: Path, *variables: str) -> str:
    """`make experiment` in the checkout, as root; its whole output goes to `log` as it comes."""
    exec_id = machine.client.api.exec_create(
        machine.id, ["make", "experiment", *variables], workdir=CHECKOUT, environment=CA_ENV
    )["Id"]
    with log.open("wb") as out:
        for chunk in machine.client.api.exec_start(exec_id, stream=True):
            out.write(chunk)
            out.flush()
    code = machine.client.api.exec_inspect(exec_id)["ExitCode"]
    output = log.read_text(errors="replace")
    assert code == 0, f"make experiment failed (exit {code}); the end of {log}:\n{output[-8000:]}"
    return output


def _in_machine(machine, *argv: str) -> str:
    code, output = machine.exec_run(list(argv))
    assert code == 0, output.decode()
    return output.decode()


def _changed_tasks(machine, artifacts: str, plays: tuple[str, ...]) -> list[str]:
    """Tasks of these plays that reported a change, from the run's job events (ansible-runner's files)."""
    stream, _ = machine.get_archive(f"{artifacts}/job_events")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        events = [json.load(tar.extractfile(m)) for m in tar.getmembers() if m.name.endswith(".json")]
    return [
        e["event_data"]["task"]
        for e in events
        if e.get("event") == "runner_on_ok"
        and e["event_data"].get("play") in plays
        and e["event_data"].get("res", {}).get("changed")
    ]


def _report_path(output: str) -> str:
    (report,) = [line.removeprefix("Report: ") for line in output.splitlines() if line.startswith("Report: ")]
    return report


def _artifacts_dir(output: str) -> str:
    (line,) = [
        line for line in output.splitlines() if line.startswith("The playbook's output and job events: ")
    ]
    return line.rpartition(": ")[2].strip()


@pytest.fixture(scope="module")
def fresh_machine(tmp_path_factory):
    require_command("docker", "git")
    client = docker.from_env()
    archive = _clean_clone(tmp_path_factory.mktemp("clone"))
    volume = client.volumes.create(f"{NAME}-docker")
    machine = client.containers.run(
        _fresh_image(client),
        # The read-only /proc/sys Docker mounts over a container's /proc goes first: the engine inside
        # writes sysctls of its own network namespaces (as on the cluster's nodes).
        ["sh", "-c", "umount /proc/sys && exec sleep infinity"],
        name=NAME,
        hostname=NAME,
        detach=True,
        cap_add=["ALL"],
        cap_drop=["SYS_RESOURCE"],
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        cgroupns="host",
        volumes={
            "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
            volume.name: {"bind": "/var/lib/docker", "mode": "rw"},  # on disk: overlay2 works there
            HOST_CA: {"bind": CA_IN_CONTAINER, "mode": "ro"},
        },
        tmpfs={"/run": "exec", "/tmp": "exec"},
    )
    try:
        machine.put_archive("/root", archive)
        yield machine
    finally:
        machine.remove(force=True)
        volume.remove(force=True)


LOGS = ROOT / "tests" / "artifacts"  # the two runs' whole output, kept for a human to read


@pytest.fixture(scope="module")
def first_run(fresh_machine):
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    output = _make_experiment(fresh_machine, LOGS / "fresh-machine-first.log")
    return {"output": output, "seconds": time.monotonic() - started}


def test_make_experiment_alone_ends_with_a_report(fresh_machine, first_run):
    output = first_run["output"]
    print(f"first make experiment on the fresh machine: {first_run['seconds']:.0f} s")
    assert "Installing system packages: python3-venv ca-certificates" in output
    assert "started Docker as a detached dockerd" in output
    report = _report_path(output)
    assert report.startswith(f"{CHECKOUT}/results/quickstart/") and report.endswith("/report.html")
    html = _in_machine(fresh_machine, "cat", report)
    assert len(html) > 100_000 and "<html" in html.lower()
    bundle = report.rpartition("/")[0]
    run = json.loads(_in_machine(fresh_machine, "cat", f"{bundle}/run.json"))
    assert run["stack"] == "quickstart" and run["gateways"]["cell"]["backend"] in ("netem", "userspace")
    assert run["run_id"] in html
    interactions = _in_machine(
        fresh_machine, "python3", "-c", _COUNT_OK_READS, f"{bundle}/interactions.jsonl.gz"
    )
    assert int(interactions) > 0


def test_the_quickstart_runs_clean_as_every_example_must(fresh_machine, first_run, tmp_path):
    stream, _ = fresh_machine.get_archive(_report_path(first_run["output"]).rpartition("/")[0])
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        tar.extractall(tmp_path, filter="data")
    (bundle,) = tmp_path.iterdir()
    assert_consumers_succeed(bundle)
    assert_nothing_recorded_after_the_end(bundle)
    assert_health_table_agrees(bundle)
    assert_only_the_error_app_crashes(bundle)


_COUNT_DOCKERDS = (
    "import glob\nprint(sum(open(p).read().strip() == 'dockerd' for p in glob.glob('/proc/[0-9]*/comm')))\n"
)
_COUNT_OK_READS = (
    "import gzip, json, sys\n"
    "rows = [json.loads(line) for line in gzip.open(sys.argv[1], 'rt')]\n"
    "print(sum(r['side'] == 'consumer' and r['ok'] for r in rows))\n"
)


def test_a_second_make_experiment_starts_no_dockerd_and_rebuilds_nothing(fresh_machine, first_run):
    # What it proves is in the set-up phases (the first run proved the rest): only they run again.
    log = LOGS / "fresh-machine-second.log"
    output = _make_experiment(fresh_machine, log, "RUN_ARGS=--tags provision,build-image")
    assert "Installing system packages" not in output and "pip install" not in output
    assert "started Docker" not in output
    assert all(f"== {phase}" in output for phase in RUN_PHASES), output[-3000:]
    assert _changed_tasks(fresh_machine, _artifacts_dir(output), RUN_PHASES) == []
    assert int(_in_machine(fresh_machine, "python3", "-c", _COUNT_DOCKERDS)) == 1
