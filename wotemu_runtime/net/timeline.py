"""A network's scenario as a function of time: what is in force at any moment of the run.

The state at time t (seconds since the run's window opened) is the network's own conditions with
every action active at t folded in, in the scenario's order, and the union of the nodes the
active partitions cut off. Being a pure function of t is what lets a restarted gateway resume
exactly what is due now. Times are kept in whole milliseconds so that repetitions (`at` + k *
`every`) land on exact instants.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from wotemu_runtime.contract.conditions import changed


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def starts(at_ms: int, every_ms: int | None, horizon_ms: int) -> Iterator[int]:
    """The start of each occurrence of an action before `horizon_ms`."""
    start = at_ms
    while start < horizon_ms:
        yield start
        if not every_ms:
            return
        start += every_ms


@dataclass(frozen=True)
class State:
    conditions: dict  # canonical, complete
    cut_off: frozenset[str]  # aliases of the nodes partitioned away


@dataclass(frozen=True)
class Boundary:
    """An action starting or ending at `t_ms`; `start_ms` is the start of that occurrence."""

    t_ms: int
    action: dict
    change: str  # "start" | "end"
    start_ms: int


class Timeline:
    def __init__(self, conditions: dict, actions: list[dict]):
        self.conditions, self.actions = conditions, actions

    def _occurrence(self, action: dict, t_ms: int) -> int | None:
        """The start of the occurrence of `action` active at `t_ms` (start included, end not), or None."""
        at, every = ms(action["at_s"]), action["every_s"] and ms(action["every_s"])
        if t_ms < at:
            return None
        start = at + (t_ms - at) // every * every if every else at
        if action["for_s"] is not None and t_ms >= start + ms(action["for_s"]):
            return None
        return start

    def active(self, t_ms: int) -> list[tuple[dict, int]]:
        """(action, its occurrence's start) of the actions active at `t_ms`, in the scenario's order."""
        found = ((action, self._occurrence(action, t_ms)) for action in self.actions)
        return [(action, start) for action, start in found if start is not None]

    def state(self, t_ms: int) -> State:
        conditions, cut_off = self.conditions, set()
        for action, _ in self.active(t_ms):
            if action["netem"]:
                conditions = changed(conditions, action["netem"])
            cut_off.update(action["partition"])
        return State(conditions, frozenset(cut_off))

    def boundaries_after(self, t_ms: int, horizon_ms: int) -> list[Boundary]:
        """Every start and end after `t_ms` (excluded) at the first such instant before `horizon_ms`."""
        found: list[Boundary] = []
        for action in self.actions:
            at, every = ms(action["at_s"]), action["every_s"] and ms(action["every_s"])
            length = None if action["for_s"] is None else ms(action["for_s"])
            # The occurrence active at t, then the next one: their ends and the next start.
            current = self._occurrence(action, t_ms)
            candidates = []
            if current is not None and length is not None:
                candidates.append(Boundary(current + length, action, "end", current))
            if t_ms < at:
                candidates.append(Boundary(at, action, "start", at))
            elif every:
                following = at + ((t_ms - at) // every + 1) * every
                candidates.append(Boundary(following, action, "start", following))
            found += [b for b in candidates if t_ms < b.t_ms < horizon_ms]
        if not found:
            return []
        first = min(b.t_ms for b in found)
        return [b for b in found if b.t_ms == first]
