"""What a shaping backend must do: how a network's link is shaped, apart from what the gateway is.

The gateway knows its interface and its conditions; a backend (NetEm in the kernel, or the
userspace shaper) puts those conditions on the interface's forwarded traffic. Both mean the same
thing by every parameter of the canonical conditions (docs/design.md §8.2).
"""

from abc import ABC, abstractmethod
from typing import ClassVar

from wotemu_runtime.net.links import Interface


class ShaperError(Exception):
    """A shaping backend cannot be set up on this kernel (a module missing, NFQUEUE taken...)."""


class Shaper(ABC):
    """One backend shaping one interface. `unhonoured` lists the parameters it could not apply."""

    per_replica: ClassVar[bool]  # whether it shapes each replica's access link

    backend: ClassVar[str]  # its name in records and reports: "netem" | "userspace"

    def __init__(self, interface: Interface, seed: int | None, links: list[dict] = ()):
        # `links`: the nodes' per-replica access links into this network (contract.config.AccessLink).
        self.interface, self.seed, self.links = interface, seed, list(links)
        self.unhonoured: list[str] = []

    @classmethod
    @abstractmethod
    def refusal(cls, interface: Interface) -> str | None:
        """Why this kernel cannot run the backend on `interface` (None: it can). Leaves nothing behind."""

    @abstractmethod
    def apply(self, conditions: dict) -> None:
        """Put the (validated) conditions in place; raises ShaperError, having undone what it did."""

    @abstractmethod
    def update(self, conditions: dict) -> None:
        """Replace the conditions in place, without a moment of unshaped traffic."""

    @abstractmethod
    def counters(self) -> dict[str, int]:
        """Since apply(): {"packets": left after shaping, "bytes": their IP bytes, "dropped": packets},
        and "queued": the packets it holds now."""

    @abstractmethod
    def close(self) -> None:
        """Undo apply(), also when it failed halfway (the gateway calls it on every exit)."""
