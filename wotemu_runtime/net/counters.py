"""Traffic counters from the kernel: one iptables rule per protocol and direction.

Each packet the gateway forwards on its network jumps to WOTEMU_COUNT, where the first rule that
matches counts it and returns. The kernel does the counting, so nothing is lost under load
(upstream's capture queue dropped packets silently). Counts are cumulative since start.
"""

import re
from collections import Counter

from wotemu_runtime.net.iptables import iptables, remove_chain, restore_chain
from wotemu_runtime.net.ports import app_ports

CHAIN = "WOTEMU_COUNT"
# Forwarded packets that match no configured port (ICMP errors, fragments): they still cross the
# gateway, so they are counted as protocol "other", direction "request" (they carry no port).
UNCLASSIFIED = ("other", "request")
_LINE = re.compile(r"^\s*(\d+)\s+(\d+)\s.*/\* wotemu (\w+) (\w+) \*/")


class TrafficCounters:
    def __init__(self, interface_name: str, config: dict):
        self.jump = ("FORWARD", "-i", interface_name, "-o", interface_name, "-j", CHAIN)
        self.ports = app_ports(config)

    def install(self) -> None:
        rules = [
            ("-p", transport, flag, str(port), *_tag(protocol, direction), "-j", "RETURN")
            for direction, flag in (("request", "--dport"), ("response", "--sport"))
            for protocol, transport, port in self.ports
        ]
        rules.append((*_tag(*UNCLASSIFIED), "-j", "RETURN"))
        # First in FORWARD: counted as offered, before any shaper queues or drops the packet.
        restore_chain(CHAIN, rules, hook=("-I", self.jump[0], "1", *self.jump[1:]))

    def read(self) -> dict[tuple[str, str], tuple[int, int]]:
        """{(protocol, direction): (packets, bytes)} for every protocol and direction, zeros included."""
        totals: Counter = Counter()
        keys = {
            (protocol, direction) for protocol, _, _ in self.ports for direction in ("request", "response")
        }
        keys.add(UNCLASSIFIED)
        for line in iptables("-n", "-v", "-x", "-L", CHAIN).splitlines():
            match = _LINE.match(line)
            if match:
                key = (match[3], match[4])
                totals[key, "packets"] += int(match[1])
                totals[key, "bytes"] += int(match[2])
        return {key: (totals[key, "packets"], totals[key, "bytes"]) for key in sorted(keys)}

    def remove(self) -> None:
        remove_chain(CHAIN, self.jump)


def _tag(protocol: str, direction: str) -> tuple[str, ...]:
    return ("-m", "comment", "--comment", f"wotemu {protocol} {direction}")
