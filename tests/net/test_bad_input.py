"""Bad input to the gateway: each a clear error, and nothing left behind."""

import subprocess
import sys
import time


def _leftovers(lab) -> str:
    """Our iptables chains or qdiscs still in the gateway's namespace."""
    proc = lab.spawn("g", ["iptables", "-S"], stdout=subprocess.PIPE, text=True)
    return "\n".join(
        line for line in proc.communicate()[0].splitlines() if "WOTEMU" in line or "NFQUEUE" in line
    )


def test_no_interface_on_the_subnet(lab):
    code, err = lab.gateway_exit({**lab.gateway_config({}), "subnet": "10.99.0.0/24"})
    assert code == 1
    assert (
        "no interface has an address in 10.99.0.0/24 "
        "(addresses here: lo=127.0.0.1/8, eth0=10.77.0.2/24, eth1=10.78.0.2/24)" in err
    )


def test_malformed_conditions(lab):
    code, err = lab.gateway_exit(lab.gateway_config({"delay_ms": 5, "distribution": "gauss"}))
    assert code == 2
    assert (
        "not a valid gateway config: netem.distribution: "
        "Input should be 'normal', 'pareto', 'paretonormal' or 'uniform' (got 'gauss')"
    ) in err


def test_conditions_the_backend_cannot_honour_are_recorded(lab):
    with lab.gateway({"delay_ms": 1, "corrupt_pct": 1}):
        deadline = time.monotonic() + 10
        while not lab.records("info") and time.monotonic() < deadline:  # the writer sends in batches
            time.sleep(0.2)
        info = lab.records("info")[-1]
    assert info["backend"] == "userspace"
    assert info["unhonoured"] == ["corrupt_pct"]
    assert info["netem"]["corrupt_pct"] == 1


def test_nfqueue_unavailable(lab):
    # Another process holds the gateway namespace's queue, as a second shaper would.
    holder = lab.spawn(
        "g",
        [
            sys.executable,
            "-c",
            "import time\nfrom wotemu_runtime.net.nfqueue import NfQueue\n"
            "q = NfQueue(); q.bind(0, print); print('bound', flush=True)\n"
            "time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "bound"
        code, err = lab.gateway_exit(lab.gateway_config({"delay_ms": 5}))
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    assert "cannot bind NFQUEUE 0" in err
    assert _leftovers(lab) == ""


def test_no_config(lab):
    done = subprocess.run(
        [sys.executable, "-m", "wotemu_runtime", "gateway"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "no service config: pass --config FILE or mount one at /etc/wotemu/service.json" in done.stderr
