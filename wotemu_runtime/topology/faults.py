"""The scenario's kills and scale changes as the timed faults the run phase applies (design §8.2).

Repetitions are unrolled over the run, a scale's `for` becomes a scale back, and each kill's victims
are drawn from the replicas in force then, with the run's seed: a run and its replay crash the same
task slots.
"""

import random

from wotemu_runtime.contract.config import Fault
from wotemu_runtime.net.timeline import ms, starts
from wotemu_runtime.topology.schema import Topology


def _occurrences(action, horizon_ms: int) -> list[tuple[int, int | None]]:
    """(start, end) of each occurrence in whole ms; end None: to the end of the run."""
    every = action.every and ms(action.every)
    length = action.for_ and ms(action.for_)
    return [(start, start + length if length else None) for start in starts(ms(action.at), every, horizon_ms)]


def _replicas_at(node, scales: list[tuple[int, int | None, int, int]], t_ms: int) -> int:
    """The node's count at `t_ms`: the scale in force that began last (the later in the list on a
    tie), or the node's own `scale`."""
    active = [
        (start, index, replicas)
        for start, end, index, replicas in scales
        if start <= t_ms and (end is None or t_ms < end)
    ]
    return max(active)[2] if active else node.scale


def faults(topology: Topology, stack: str, seed: int, duration_s: float) -> list[Fault]:
    horizon_ms = ms(duration_s)
    nodes = {node.name: node for node in topology.nodes}
    scales: dict[str, list] = {name: [] for name in nodes}
    for index, action in enumerate(topology.scenario):
        if action.scale is not None:
            for start, end in _occurrences(action, horizon_ms):
                scales[action.scale.node].append((start, end, index, action.scale.replicas))
    planned = []
    for index, action in enumerate(topology.scenario):
        if action.kind not in ("kill", "scale"):
            continue
        target = getattr(action, action.kind)
        node, service = nodes[target.node], f"{stack}_{target.node}"
        for start, end in _occurrences(action, horizon_ms):
            at = dict(index=index, kind=action.kind, node=node.name, service=service, t_s=start / 1000)
            if action.kind == "kill":
                running = _replicas_at(node, scales[node.name], start)
                rng = random.Random(f"{seed}:kill:{index}:{start}")
                slots = sorted(rng.sample(range(1, running + 1), min(target.replicas, running)))
                planned.append(Fault(**at, replicas=len(slots), slots=slots))
                continue
            planned.append(Fault(**at, replicas=target.replicas))
            if end is not None and end < horizon_ms:
                others = [s for s in scales[node.name] if s[:3] != (start, end, index)]
                back = _replicas_at(node, others, end)
                planned.append(Fault(**{**at, "t_s": end / 1000}, replicas=back, undo=True))
    return sorted(planned, key=lambda fault: (fault.t_s, fault.index))
