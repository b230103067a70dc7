"""The pure-Python NFQUEUE binding against the real kernel: verdicts keep or drop, a taken queue is
refused, the payload is the whole IP datagram. Each case runs in its own network namespace."""

import json
import subprocess
import sys
import textwrap

from tests.conftest import ROOT, require_command
from tests.net.conftest import require_lab

# Queues UDP to 127.0.0.1:9999 (OUTPUT, on the namespace's loopback), then reports as JSON.
_SCRIPT = textwrap.dedent(
    """
    import json, socket, subprocess, time
    from pyroute2 import IPRoute
    from wotemu_runtime.net.nfqueue import NfQueue

    with IPRoute() as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    subprocess.run(["iptables", "-A", "OUTPUT", "-o", "lo", "-p", "udp", "--dport", "9999",
                    "-j", "NFQUEUE", "--queue-num", "0"], check=True)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 9999))
    receiver.settimeout(0.5)
    queued = []

    def verdict(packet):
        queued.append([packet.get_payload_len(), packet.get_payload()[28:].decode()])
        packet.accept() if packet.get_payload().endswith(b"keep") else packet.drop()

    queue = NfQueue()
    queue.bind(0, verdict, max_len=64)
    try:
        NfQueue().bind(0, print)
        second = "bound"
    except OSError as ex:
        second = ex.errno
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for word in ("1 keep", "2 drop", "3 keep"):
        sender.sendto(word.encode(), ("127.0.0.1", 9999))
    deadline = time.monotonic() + 5
    while len(queued) < 3 and time.monotonic() < deadline:
        queue.run(block=False)
        time.sleep(0.01)
    received = []
    try:
        while True:
            received.append(receiver.recv(100).decode())
    except socket.timeout:
        pass
    queue.unbind()
    print(json.dumps({"queued": queued, "received": received, "second": second}))
    """
)


def test_verdicts_keep_or_drop_and_a_taken_queue_is_refused():
    require_lab()
    require_command("unshare")
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    # IPv4 (20) and UDP (8) headers precede the six bytes sent: the kernel copies the whole datagram.
    assert result["queued"] == [[34, "1 keep"], [34, "2 drop"], [34, "3 keep"]]
    assert result["received"] == ["1 keep", "3 keep"]
    assert result["second"] == 1  # EPERM: the kernel gives a bound queue to no second socket
