"""Finding a service's interface on a network, and the kernel settings a forwarder needs."""

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from wotemu_runtime.net.iptables import delete_rule, has_rule, iptables

log = logging.getLogger(__name__)

# Where the interface's send_redirects cannot be switched off, its redirects die on the way out.
DROP_REDIRECTS = ("OUTPUT", "-p", "icmp", "--icmp-type", "redirect", "-j", "DROP")


class NetworkSetupError(Exception):
    """The container is not attached to the network as configured, or the kernel disagrees."""


class ShaperError(Exception):
    """A shaping backend cannot be set up on this kernel (a module missing, NFQUEUE taken...)."""


@dataclass(frozen=True)
class Interface:
    name: str
    index: int
    address: str  # this host's IPv4 address on the network


def find_interface(subnet: str) -> Interface:
    """The interface whose IPv4 address lies in `subnet` (Docker names overlay links arbitrarily)."""
    try:
        network = ipaddress.ip_network(subnet)
    except ValueError as ex:
        raise NetworkSetupError(f"subnet {subnet!r} is not a valid CIDR: {ex}") from ex
    from pyroute2 import IPRoute  # here: a node finds its interfaces in a short-lived child (redirect.py)

    with IPRoute() as ipr:
        seen = []
        for addr in ipr.get_addr(family=2):
            address = addr.get_attr("IFA_ADDRESS")
            seen.append(f"{addr.get_attr('IFA_LABEL')}={address}/{addr['prefixlen']}")
            if ipaddress.ip_address(address) in network:
                index = addr["index"]
                name = ipr.get_links(index)[0].get_attr("IFLA_IFNAME")
                return Interface(name=name, index=index, address=address)
    raise NetworkSetupError(f"no interface has an address in {subnet} (addresses here: {', '.join(seen)})")


def ensure_sysctl(name: str, value: str) -> None:
    """Set a sysctl, or where /proc/sys is read-only (Swarm containers; the stack file sets them) check it.

    `name` uses slashes (net/ipv4/conf/eth0/send_redirects): interface names may contain dots.
    """
    path = Path("/proc/sys", name)
    try:
        path.write_text(value)
        return
    except OSError as ex:
        current = path.read_text().strip() if path.exists() else None
        if current == value:
            log.debug("%s is read-only and already %s", name, value)
            return
        raise NetworkSetupError(
            f"cannot set {name}={value} ({ex.strerror}) and it is {current!r}; "
            "in Swarm set it in the service's `sysctls`"
        ) from ex


def prepare_forwarding(interface: Interface) -> None:
    """Forward between peers of one network without telling them to bypass us.

    Packets come in and go out the same interface, so the kernel would normally answer with ICMP
    redirects ("talk to B directly") and the peers would stop using the gateway. The kernel sends
    them if either the `all` or the interface's own switch is on, so both must be off.

    In a Swarm container /proc/sys is read-only and the stack file sets `all` and `default`, but an
    interface Docker created before those were applied keeps its own switch on: there the redirects
    are dropped on their way out instead.
    """
    ensure_sysctl("net/ipv4/ip_forward", "1")
    for scope in ("all", "default"):
        ensure_sysctl(f"net/ipv4/conf/{scope}/send_redirects", "0")
    try:
        ensure_sysctl(f"net/ipv4/conf/{interface.name}/send_redirects", "0")
    except NetworkSetupError as ex:
        log.info("%s; dropping outgoing ICMP redirects instead", ex)
        if not has_rule(*DROP_REDIRECTS):
            iptables("-A", *DROP_REDIRECTS)


def restore_forwarding() -> None:
    delete_rule(*DROP_REDIRECTS)
