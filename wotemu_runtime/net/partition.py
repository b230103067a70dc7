"""Partitions: the gateway drops what its network's cut-off nodes send to, or receive from, the others.

The rules sit in WOTEMU_PARTITION, jumped to from FORWARD after the traffic counters (a dropped
packet was still offered) and before the shaper's queue. Packets between two nodes cut off
together pass: they are cut off from the rest, not from each other.
"""

import logging
import socket

from wotemu_runtime.net.iptables import remove_chain, restore_chain

log = logging.getLogger(__name__)

CHAIN = "WOTEMU_PARTITION"


def addresses_of(aliases) -> set[str]:
    """The replicas' addresses behind each alias (Docker's DNS answers every task of the service)."""
    found = set()
    for alias in aliases:
        try:
            found.update(socket.gethostbyname_ex(alias)[2])
        except OSError as ex:  # no replica running now: nothing of it to cut off
            log.warning("cannot resolve %s for the partition: %s", alias, ex)
    return found


class Partition:
    def __init__(self, interface_name: str):
        self.jump = ("FORWARD", "-i", interface_name, "-o", interface_name, "-j", CHAIN)

    def install(self) -> None:
        """Before the counters' install: each inserts itself first in FORWARD."""
        restore_chain(CHAIN, [], hook=("-I", self.jump[0], "1", *self.jump[1:]))

    def cut_off(self, addresses: set[str]) -> None:
        """Cut exactly these addresses off (none: the network is whole again), in one atomic change."""
        rules = []
        for address in sorted(addresses):
            rules += [("-s", address, "-d", other, "-j", "RETURN") for other in sorted(addresses - {address})]
            rules += [("-s", address, "-j", "DROP"), ("-d", address, "-j", "DROP")]
        restore_chain(CHAIN, rules)

    def remove(self) -> None:
        remove_chain(CHAIN, self.jump)
