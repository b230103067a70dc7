"""Each replica's own access link, for the userspace shaper: an up and a down packet model per
replica address, found by resolving the node's Swarm service again and again.

Swarm's DNS answers `tasks.<service>` with the address of every running task of the service on
the networks the asker shares with it (here: the gateway's one network). Re-resolving it every
RESOLVE_PERIOD_S gives replicas that restart or scale their links without restarting anything.
"""

import hashlib
import logging
import socket
import threading

from wotemu_runtime.net.distributions import load_table
from wotemu_runtime.net.packet_model import PacketModel

log = logging.getLogger(__name__)

RESOLVE_PERIOD_S = 2.0  # a new replica's packets cross an unshaped access link for at most this long


def resolve_tasks(service: str) -> list[str]:
    """The addresses of the service's running tasks; none (yet) when the name does not resolve."""
    try:
        return sorted(set(socket.gethostbyname_ex(f"tasks.{service}")[2]))
    except OSError:
        return []


def _seed(seed: int | None, salt: str) -> int | None:
    # Each replica's own draws: seeded from the gateway's seed, its address and the direction.
    if seed is None:
        return None
    return int.from_bytes(hashlib.sha256(f"{seed}/{salt}".encode()).digest()[:8], "big")


class AccessLinks:
    """Address -> (up model, down model) of the replica holding it, kept fresh by a thread."""

    def __init__(self, links: list[dict], seed: int | None, resolve=resolve_tasks):
        self.links, self.seed, self.resolve = links, seed, resolve
        self.models: dict[str, tuple[PacketModel, PacketModel]] = {}
        self._owners: dict[str, str] = {}  # address -> node whose models it has
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="access-links", daemon=True)

    def start(self) -> None:
        if self.links:
            self.refresh()
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def refresh(self) -> None:
        """Models for the addresses resolved now; an address keeps its models (its queue's state)
        while the same node holds it, and gets new ones when another node's replica takes it."""
        models, owners = {}, {}
        for link in self.links:
            for address in self.resolve(link["service"]):
                if self._owners.get(address) == link["node"]:
                    models[address] = self.models[address]
                else:
                    models[address] = tuple(
                        PacketModel(
                            link[direction],
                            _seed(self.seed, f"{address}/{direction}"),
                            load_table(link[direction]["distribution"]),
                        )
                        for direction in ("up", "down")
                    )
                owners[address] = link["node"]
        if owners != self._owners:
            log.info("access links: %s", ", ".join(f"{a}={n}" for a, n in sorted(owners.items())) or "none")
        # One assignment each: the shaper thread sees the old map or the new one.
        self.models, self._owners = models, owners

    def _run(self) -> None:
        while not self._stop.wait(RESOLVE_PERIOD_S):
            self.refresh()
