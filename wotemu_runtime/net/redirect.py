"""Node side of the network plane: send the app protocols' packets through each network's gateway.

Locally generated packets to or from an app port on a network's interface get a firewall mark
(mangle OUTPUT, which re-routes marked packets); a policy rule sends marked packets to our table,
where each network's subnet is routed `via <its gateway> onlink`. Everything else (Redis, DNS,
anything unmarked) keeps the main table and goes direct. Replies carry the app port as source
port, so they are marked too: each direction crosses the gateway once.

pyroute2 (about 8 MB) is imported only where a route changes. A node finds its interfaces and
installs its routes in a forked child that exits with it (wotemu_runtime/forked.py); the node
itself imports it only if a gateway moves, and when it removes its routes at the end.
"""

import contextlib
import ipaddress
import logging
import socket
import threading
import time

import redis

from wotemu_runtime.forked import ChildTimeout, in_forked_child
from wotemu_runtime.net.iptables import iptables, remove_chain, restore_chain
from wotemu_runtime.net.links import Interface, find_interface
from wotemu_runtime.net.ports import app_ports
from wotemu_runtime.net.readiness import read_gateway, wait_for_gateways

log = logging.getLogger(__name__)

FWMARK = 0x5745  # "WE"; Docker's IPVS marks stay out of the way with dnsrr services
TABLE = 0x5745
RULE_PRIORITY = 100  # before the main table's rule (32766)
CHAIN = "WOTEMU_MARK"
WATCH_PERIOD_S = 2.0  # re-check gateway addresses this often: a new address is followed well within 10 s
RTNH_F_ONLINK = 4  # the gateway is on the link even though the kernel has no route saying so
INSTALL_TIMEOUT_S = 20  # finding the interfaces and installing the routes: well under a second


class Redirection:
    """What start_redirection() installed; stop() removes it."""

    def __init__(self, config: dict, client: redis.Redis, interfaces: dict[str, Interface]):
        self.config, self.client = config, client
        self.networks = config["networks"]
        self.interfaces = interfaces
        self.gateways: dict[str, str] = {}  # network -> gateway address currently routed to
        self.announced_at: float | None = None  # when every gateway had announced itself (Unix s)
        self.jump = ("OUTPUT", "-j", CHAIN)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="gateway-watcher", daemon=True)

    def install(self, announcements: dict[str, dict]) -> None:
        from pyroute2 import IPRoute

        mark = ("-j", "MARK", "--set-mark", hex(FWMARK))
        rules = [
            ("-o", self.interfaces[net["name"]].name, "-p", transport, flag, str(port), *mark)
            for net in self.networks
            for _, transport, port in app_ports(self.config)
            for flag in ("--dport", "--sport")
        ]
        restore_chain(CHAIN, rules, table="mangle")  # hooked up last, once the routes exist
        with IPRoute() as ipr:
            ipr.rule("add", fwmark=FWMARK, table=TABLE, priority=RULE_PRIORITY)
        for net in self.networks:
            self._route(net, announcements[net["name"]]["address"])
        iptables("-A", *self.jump, table="mangle")

    def _route(self, net: dict, address: str) -> None:
        from pyroute2 import IPRoute

        interface = self.interfaces[net["name"]]
        with IPRoute() as ipr:
            ipr.route(
                "replace",
                dst=net["subnet"],
                gateway=address,
                oif=interface.index,
                table=TABLE,
                flags=RTNH_F_ONLINK,
            )
        if net["name"] in self.gateways:
            log.info("gateway of %s moved: %s -> %s", net["name"], self.gateways[net["name"]], address)
        self.gateways[net["name"]] = address

    def _current_address(self, net: dict) -> str | None:
        """The gateway's announced address; DNS `tasks.<gateway>` when Redis cannot be asked."""
        try:
            announcement = read_gateway(self.client, self.config, net["name"])
            return announcement["address"] if announcement else None
        except redis.RedisError:
            pass
        try:
            addresses = socket.gethostbyname_ex(f"tasks.{net['gateway']}")[2]
        except OSError:
            return None
        subnet = ipaddress.ip_network(net["subnet"])
        inside = [address for address in addresses if ipaddress.ip_address(address) in subnet]
        return inside[0] if len(inside) == 1 else None

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_PERIOD_S):
            for net in self.networks:
                address = self._current_address(net)
                # No answer (gateway restarting, key expired): keep the old route rather than bypass shaping.
                if address and address != self.gateways.get(net["name"]):
                    self._follow(net, address)

    def _follow(self, net: dict, address: str) -> None:
        from pyroute2.netlink.exceptions import NetlinkError

        try:
            self._route(net, address)
        except NetlinkError as ex:
            log.error("cannot route %s via %s: %s", net["name"], address, ex)

    def watch(self) -> None:
        """Follow each gateway to its new address, should it move (until stop())."""
        self._thread.start()

    def stop(self) -> None:
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        self._stop.set()
        if self._thread.is_alive():  # not started when install() failed halfway
            self._thread.join()
        remove_chain(CHAIN, self.jump, table="mangle")
        with IPRoute() as ipr:
            for net in self.networks:
                with contextlib.suppress(NetlinkError):  # gone with its interface, or never added
                    ipr.route("del", dst=net["subnet"], table=TABLE)
            with contextlib.suppress(NetlinkError):  # install() failed before adding it
                ipr.rule("del", fwmark=FWMARK, table=TABLE, priority=RULE_PRIORITY)


class _Nothing:
    """The handle for a node on no network."""

    gateways: dict[str, str] = {}

    def stop(self) -> None:
        pass


def _install(config: dict, redis_client: redis.Redis, announcements: dict[str, dict]) -> tuple[dict, dict]:
    """Find the interfaces and install the routes (in a forked child): each network's interface and
    gateway address, which the node carries on with."""
    redirection = Redirection(
        config, redis_client, {net["name"]: find_interface(net["subnet"]) for net in config["networks"]}
    )
    try:
        redirection.install(announcements)
    except Exception:
        redirection.stop()
        raise
    return redirection.interfaces, redirection.gateways


def _install_in_child(config: dict, redis_client: redis.Redis, announcements: dict[str, dict]):
    """`_install` in a forked child, tried twice: a node once stood for minutes in a child that never
    answered (a lock held at the fork by another thread, likely), and a second fork does not inherit it."""
    try:
        return in_forked_child(_install, config, redis_client, announcements, timeout=INSTALL_TIMEOUT_S)
    except ChildTimeout as ex:
        log.warning("%s; installing the routes once more", ex)
    return in_forked_child(_install, config, redis_client, announcements, timeout=INSTALL_TIMEOUT_S)


def start_redirection(
    config: dict, redis_client: redis.Redis, timeout: float = 120.0
) -> Redirection | _Nothing:
    """Wait for every network's gateway, then route the app protocols through them and follow them.

    The routes are installed by a forked child (see the module's doc); the handle's `announced_at`
    says when every gateway had announced itself (a step of the node's time to ready).
    Raises ReadinessTimeout if a gateway does not announce itself within `timeout` seconds, and
    NetworkSetupError if this node has no interface on one of its networks.
    """
    if not config.get("networks"):
        return _Nothing()
    networks = [net["name"] for net in config["networks"]]
    announcements = wait_for_gateways(redis_client, config, networks, timeout)
    announced_at = time.time()
    interfaces, gateways = _install_in_child(config, redis_client, announcements)
    redirection = Redirection(config, redis_client, interfaces)
    redirection.gateways, redirection.announced_at = gateways, announced_at
    redirection.watch()
    return redirection
