"""Checks of the `scenario` against the rest of the topology: networks, nodes, the run's duration,
and actions that contradict each other at the same instant.

Each action is parsed on its own (the schema reports the ones that do not parse), so these
problems come in the same pass as the schema's.
"""

from itertools import combinations

from pydantic import ValidationError

from wotemu_runtime.net.timeline import ms, starts
from wotemu_runtime.topology import schema
from wotemu_runtime.topology.errors import Problem

# A manual run has no end to check against: its actions must fall inside the longest run there is.
MANUAL_HORIZON_S = schema.WEEK_S
# Kinds acted on from the control side (the run phase), not by a gateway.
CONTROL_KINDS = ("kill", "scale")


def _dicts(data: dict, key: str) -> list[dict]:
    items = data.get(key) if isinstance(data.get(key), list) else []
    return [item for item in items if isinstance(item, dict)]


def _parsed(data: dict, key: str, model) -> list[tuple[int, object]]:
    items = data.get(key) if isinstance(data.get(key), list) else []
    parsed = []
    for index, item in enumerate(items):
        try:
            parsed.append((index, model.model_validate(item)))
        except ValidationError:
            continue  # the schema's problem
    return parsed


def _duration(data: dict) -> tuple[float | None, str, bool]:
    """The run's length in seconds (None: unknown, the schema reports it), how to say it, and whether
    the run is manual."""
    experiment = data.get("experiment") if isinstance(data.get("experiment"), dict) else {}
    try:
        parsed = schema.Experiment.model_validate({"duration": experiment.get("duration", 120.0)})
    except ValidationError:
        return None, "", False
    if parsed.duration == schema.MANUAL:
        return MANUAL_HORIZON_S, "a manual run's actions fall within a week, the longest run", True
    return parsed.duration, f"experiment.duration is {parsed.duration:g} s", False


def _where(action: schema.Action) -> tuple[str, tuple]:
    if action.partition is not None:
        return action.partition.network, ("partition", "network")
    return action.network, ("network",)


def _times(index: int, action: schema.Action, duration: float, said: str) -> list[Problem]:
    problems = []
    if action.at >= duration:
        problems.append(Problem(("scenario", index, "at"), f"{action.at:g} s is not inside the run: {said}"))
    elif action.for_ is not None and action.every is None and action.at + action.for_ > duration:
        problems.append(
            Problem(
                ("scenario", index, "for"),
                f"it would end at {action.at + action.for_:g} s, after the run: {said}",
            )
        )
    return problems


def most_replicas(data: dict) -> dict[str, int]:
    """Each node's largest replica count in the run: its `scale`, or a scenario `scale` above it."""
    counts = {}
    for node in _dicts(data, "nodes"):
        scale = node.get("scale", 1)
        if isinstance(node.get("name"), str):
            counts[node["name"]] = scale if isinstance(scale, int) and not isinstance(scale, bool) else 1
    for _, action in _parsed(data, "scenario", schema.Action):
        if action.scale is not None and action.scale.node in counts:
            counts[action.scale.node] = max(counts[action.scale.node], action.scale.replicas)
    return counts


def _node_reference(index: int, action: schema.Action, members: dict, counts: dict) -> list[Problem]:
    """A kill's or a scale's node exists; a kill takes no more replicas than the node ever has."""
    kind = action.kind
    target = getattr(action, kind)
    if target.node not in members:
        valid = ", ".join(members) or "(none defined)"
        return [Problem(("scenario", index, kind, "node"), f"unknown node {target.node!r}; defined: {valid}")]
    most = counts.get(target.node, 0)
    if kind == "kill" and target.replicas > most:
        return [
            Problem(
                ("scenario", index, "kill", "replicas"),
                f"{target.replicas} replicas, but node {target.node!r} has at most {most} in this run",
            )
        ]
    return []


def _references(
    index: int, action: schema.Action, names: list[str], networks: dict, members: dict
) -> list[Problem]:
    """`names`: every network the document names; `networks`: those that parse."""
    network, key = _where(action)
    if network not in names:
        valid = ", ".join(names) or "(none defined)"
        return [Problem(("scenario", index, *key), f"unknown network {network!r}; defined: {valid}")]
    problems = []
    if action.partition is not None:
        for position, node in enumerate(action.partition.nodes):
            path = ("scenario", index, "partition", "nodes", position)
            if node not in members:
                problems.append(Problem(path, f"unknown node {node!r}; defined: {', '.join(members)}"))
            elif network not in members[node]:
                on = ", ".join(n for n, nets in members.items() if network in nets)
                problems.append(
                    Problem(path, f"node {node!r} is not on network {network!r}; its nodes: {on}")
                )
    if action.netem is not None and network in networks:
        merged = {**networks[network].netem.model_dump(), **action.netem.model_dump(exclude_unset=True)}
        try:
            schema.Netem.model_validate(merged)
        except ValidationError as ex:
            reason = ex.errors()[0]["msg"].removeprefix("Value error, ")
            problems.append(Problem(("scenario", index, "netem"), f"with {network!r}'s conditions: {reason}"))
    return problems


def _first_common_start(a: schema.Action, b: schema.Action, horizon_ms: int) -> int | None:
    """The first instant both actions start an occurrence, before the horizon."""
    ea, eb = (x.every and ms(x.every) for x in (a, b))
    # Walk the action with fewer occurrences; test the other's by arithmetic.
    if (ea or horizon_ms) < (eb or horizon_ms):
        a, b, ea, eb = b, a, eb, ea
    at_b = ms(b.at)
    for t in starts(ms(a.at), ea, horizon_ms):
        if t >= at_b and (t == at_b or (eb and (t - at_b) % eb == 0)):
            return t
    return None


def _changes(action: schema.Action) -> tuple[str | None, dict]:
    """Where an action sets values (a network, or a node's replica count) and which."""
    if action.netem is not None:
        return action.network, action.netem.model_dump(exclude_unset=True)
    if action.scale is not None:
        return f"node {action.scale.node}", {"replicas": action.scale.replicas}
    return None, {}


def _contradictions(actions: list[tuple[int, schema.Action]], horizon_ms: int) -> list[Problem]:
    problems = []
    changes = [(i, a, *_changes(a)) for i, a in actions if _changes(a)[0] is not None]
    for (i, a, where, ca), (j, b, where_b, cb) in combinations(changes, 2):
        keys = sorted(k for k in ca.keys() & cb.keys() if ca[k] != cb[k])
        if where != where_b or not keys:
            continue
        instant = _first_common_start(a, b, horizon_ms)
        if instant is not None:
            problems.append(
                Problem(
                    ("scenario", j),
                    f"contradicts scenario[{i}]: both set {', '.join(keys)} on {where!r} "
                    f"at {instant / 1000:g} s, to different values",
                )
            )
    return problems


def check(data: dict) -> list[Problem]:
    actions = _parsed(data, "scenario", schema.Action)
    if not actions:
        return []
    names = [n["name"] for n in _dicts(data, "networks") if isinstance(n.get("name"), str)]
    networks = {n.name: n for _, n in _parsed(data, "networks", schema.Network)}
    members = {
        n["name"]: n.get("networks") if isinstance(n.get("networks"), list) else []
        for n in _dicts(data, "nodes")
        if isinstance(n.get("name"), str)
    }
    counts = most_replicas(data)
    duration, said, manual = _duration(data)
    problems = []
    for index, action in actions:
        if action.kind in CONTROL_KINDS:
            problems += _node_reference(index, action, members, counts)
            if manual:
                problems.append(
                    Problem(
                        ("scenario", index, action.kind),
                        "a manual run's run phase returns at once, so nothing would drive a "
                        f"`{action.kind}`: give experiment.duration a length",
                    )
                )
        else:
            problems += _references(index, action, names, networks, members)
        if duration is not None:
            problems += _times(index, action, duration, said)
    if duration is not None:
        problems += _contradictions(actions, ms(duration))
    return problems
