"""Checks of the nodes' access `link`s against the rest of the topology: the networks they name,
and the shaping backend that must honour them.

They read the raw document, so their problems come in the same pass as the schema's.
"""

from wotemu_runtime.topology.errors import Problem
from wotemu_runtime.topology.schema import LINK_DIRECTIONS


def _dicts(data: dict, key: str) -> list[tuple[int, dict]]:
    items = data.get(key) if isinstance(data.get(key), list) else []
    return [(index, item) for index, item in enumerate(items) if isinstance(item, dict)]


def _shapers(data: dict) -> dict[str, str]:
    """Each network's shaper as written: its own, else the experiment's, else auto."""
    experiment = data.get("experiment") if isinstance(data.get("experiment"), dict) else {}
    default = experiment.get("shaper", "auto")
    return {
        item["name"]: item.get("shaper", default)
        for _, item in _dicts(data, "networks")
        if isinstance(item.get("name"), str)
    }


def linked_networks(link, own: list) -> list:
    """The networks a node's `link` shapes: every one of its own, or those it names."""
    if not isinstance(link, dict):
        return []
    return list(own) if set(link) & set(LINK_DIRECTIONS) else list(link)


def check(data: dict) -> list[Problem]:
    shapers = _shapers(data)
    problems = []
    for index, node in _dicts(data, "nodes"):
        link, own = node.get("link"), node.get("networks")
        own = [name for name in own if isinstance(name, str)] if isinstance(own, list) else []
        per_network = isinstance(link, dict) and not set(link) & set(LINK_DIRECTIONS)
        for network in linked_networks(link, own):
            path = ("nodes", index, "link", network) if per_network else ("nodes", index, "link")
            if network not in shapers:
                defined = ", ".join(shapers) or "(none defined)"
                problems.append(
                    Problem(
                        path,
                        f"unknown network {network!r}; defined: {defined} "
                        f"(or give `up`/`down` for every network of the node)",
                    )
                )
            elif network not in own:
                problems.append(
                    Problem(
                        path,
                        f"node {node.get('name')!r} is not on network {network!r}; its networks: "
                        f"{', '.join(own)}",
                    )
                )
            elif shapers[network] == "netem":
                problems.append(
                    Problem(
                        path,
                        f"access links on network {network!r} need `shaper: userspace` (or auto) in this "
                        "version; it is set to netem, which does not shape per replica yet",
                    )
                )
    return problems
