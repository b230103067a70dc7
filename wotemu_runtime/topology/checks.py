"""Checks that relate values to each other: names, references, subnets, brokers, placement.

They read the raw document (not the validated model) so that they can report alongside the
schema's errors: a user fixes everything in one pass.
"""

from collections import Counter
from ipaddress import IPv4Network
from pathlib import Path

from wotemu_runtime.node import loader
from wotemu_runtime.topology import units
from wotemu_runtime.topology.errors import Problem

RESERVED_SERVICES = {"redis": "the stack's metrics store"}
MAX_SERVICE_NAME = 63  # Docker's limit for `<stack>_<service>`


def _items(data: dict, key: str) -> list[tuple[int, dict]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(index, item) for index, item in enumerate(value) if isinstance(item, dict)]


def _names(data: dict, key: str) -> dict[str, int]:
    return {item["name"]: index for index, item in _items(data, key) if isinstance(item.get("name"), str)}


def _duplicates(data: dict, keys: tuple[str, ...], what: str) -> list[Problem]:
    seen = Counter(
        item.get("name") for key in keys for _, item in _items(data, key) if isinstance(item.get("name"), str)
    )
    return [
        Problem((key, index, "name"), f"{what} name {item['name']!r} is used more than once")
        for key in keys
        for index, item in _items(data, key)
        if seen.get(item.get("name"), 0) > 1
    ]


def _network_refs(data: dict, key: str, networks: dict) -> list[Problem]:
    problems = []
    for index, item in _items(data, key):
        refs = item.get("networks")
        if not isinstance(refs, list):
            continue
        for ref_index, ref in enumerate(refs):
            if isinstance(ref, str) and ref not in networks:
                valid = ", ".join(networks) or "(none defined)"
                problems.append(
                    Problem((key, index, "networks", ref_index), f"unknown network {ref!r}; defined: {valid}")
                )
        for ref, count in Counter(r for r in refs if isinstance(r, str)).items():
            if count > 1:
                problems.append(Problem((key, index, "networks"), f"network {ref!r} is listed twice"))
    return problems


def _service_names(data: dict) -> list[Problem]:
    stack = (
        (data.get("experiment") or {}).get("name", "wotemu")
        if isinstance(data.get("experiment"), dict)
        else "wotemu"
    )
    problems = []
    for key in ("nodes", "brokers"):
        for index, item in _items(data, key):
            name = item.get("name")
            if name in RESERVED_SERVICES:
                problems.append(
                    Problem((key, index, "name"), f"{name!r} is reserved for {RESERVED_SERVICES[name]}")
                )
            if isinstance(name, str) and isinstance(stack, str) and len(f"{stack}_{name}") > MAX_SERVICE_NAME:
                problems.append(
                    Problem(
                        (key, index, "name"),
                        f"'{stack}_{name}' is longer than Docker's {MAX_SERVICE_NAME} characters",
                    )
                )
    return problems


def _brokers(data: dict, networks: dict) -> list[Problem]:
    brokers = {name: item for _, item in _items(data, "brokers") if isinstance(name := item.get("name"), str)}
    problems = []
    for index, node in _items(data, "nodes"):
        protocols = _protocols(node)
        chosen = node.get("broker")
        if chosen is not None:
            if chosen not in brokers:
                valid = ", ".join(brokers) or "(none defined)"
                problems.append(
                    Problem(("nodes", index, "broker"), f"unknown broker {chosen!r}; defined: {valid}")
                )
                continue
        elif "mqtt" in protocols:
            if not brokers:
                problems.append(
                    Problem(
                        ("nodes", index, "app", "protocols"), "MQTT needs a broker: add one under `brokers`"
                    )
                )
                continue
            if len(brokers) > 1:
                problems.append(
                    Problem(
                        ("nodes", index),
                        f"several brokers exist; choose one with `broker: ` ({', '.join(brokers)})",
                    )
                )
                continue
            chosen = next(iter(brokers))
        if chosen is None:
            continue
        shared = set(node.get("networks") or []) & set(brokers[chosen].get("networks") or [])
        if not shared and isinstance(node.get("networks"), list):
            problems.append(
                Problem(
                    ("nodes", index, "networks"),
                    f"shares no network with its broker {chosen!r}, so cannot reach it",
                )
            )
    return problems


def _protocols(node: dict) -> list:
    app = node.get("app") if isinstance(node.get("app"), dict) else {}
    return app.get("protocols") if isinstance(app.get("protocols"), list) else []


def _network_names(item: dict) -> list[str]:
    networks = item.get("networks")
    return [n for n in networks if isinstance(n, str)] if isinstance(networks, list) else []


def _mqtt_consumers(data: dict) -> list[Problem]:
    """A consumer of an MQTT-serving node must share a network with that node's broker.

    wotpy's consumers read properties over MQTT whenever a Thing offers it, through the broker its
    forms name; a consumer sharing no network with the broker could never reach it.
    """
    nodes = {item["name"]: item for _, item in _items(data, "nodes") if isinstance(item.get("name"), str)}
    brokers = {item["name"]: item for _, item in _items(data, "brokers") if isinstance(item.get("name"), str)}
    problems = []
    for index, node in _items(data, "nodes"):
        params = (node.get("app") or {}).get("params") if isinstance(node.get("app"), dict) else None
        host = params.get("servient_host") if isinstance(params, dict) else None
        peer = nodes.get(host.partition(".")[0]) if isinstance(host, str) else None
        if peer is None or "mqtt" not in _protocols(peer):
            continue
        broker = brokers.get(peer.get("broker") or next(iter(brokers), None))
        if broker is None:
            continue  # a broker missing altogether is reported for the peer itself
        own, its = _network_names(node), _network_names(broker)
        if not set(own) & set(its):
            problems.append(
                Problem(
                    ("nodes", index, "networks"),
                    f"node {node.get('name')!r} (networks {', '.join(own)}) consumes the Things of node "
                    f"{peer['name']!r}, served over MQTT through broker {broker['name']!r} on networks "
                    f"{', '.join(its)}: attach the node or the broker to a shared one",
                )
            )
    return problems


def _subnets(data: dict) -> list[Problem]:
    explicit = []
    for index, item in _items(data, "networks"):
        try:
            explicit.append((index, IPv4Network(item["subnet"])))
        except (KeyError, ValueError, TypeError):
            continue
    problems = []
    for position, (index, subnet) in enumerate(explicit):
        for other_index, other in explicit[:position]:
            if subnet.overlaps(other):
                problems.append(
                    Problem(
                        ("networks", index, "subnet"),
                        f"{subnet} overlaps networks[{other_index}].subnet ({other})",
                    )
                )
    return problems


def _pool(data: dict) -> list[Problem]:
    """The pool must hold a /24 for the control network and each network without a subnet."""
    experiment = data.get("experiment") if isinstance(data.get("experiment"), dict) else {}
    try:
        pool = IPv4Network(experiment.get("subnet_pool", "10.211.0.0/16"))
    except (ValueError, TypeError):
        return []  # the schema reports the bad value
    needed = 1 + sum(1 for _, item in _items(data, "networks") if not item.get("subnet"))
    available = 2 ** (24 - pool.prefixlen) if pool.prefixlen <= 24 else 0
    if available < needed:
        return [
            Problem(
                ("experiment", "subnet_pool"),
                f"{pool} holds {available} /24 subnets but {needed} are needed "
                "(one per network plus one for control)",
            )
        ]
    return []


def _app_paths(data: dict, base_dir: Path) -> list[Problem]:
    problems = []
    for index, node in _items(data, "nodes"):
        app = node.get("app")
        if isinstance(app, dict) and isinstance(app.get("path"), str):
            path = base_dir / app["path"]
            if not path.is_file():
                problems.append(
                    Problem(
                        ("nodes", index, "app", "path"),
                        f"no such file: {path} (paths are relative to {base_dir})",
                    )
                )
            elif path.suffix != ".py":
                problems.append(
                    Problem(("nodes", index, "app", "path"), "an app is a Python file ending in .py")
                )
    return problems


def _builtin_params(data: dict) -> list[Problem]:
    """Built-in apps' params against their signatures, and `servient_host` against the topology."""
    networks_of = {
        item["name"]: item.get("networks") or [] for _, item in _items(data, "nodes") if "name" in item
    }
    problems = []
    for index, node in _items(data, "nodes"):
        app = node.get("app")
        if not (isinstance(app, dict) and app.get("builtin") in loader.builtin_names()):
            continue
        params = app.get("params") if isinstance(app.get("params"), dict) else {}
        where = ("nodes", index, "app", "params")
        try:
            func = loader.load_app(loader.resolve_source({"builtin": app["builtin"]}))
            loader.check_params(func, params, f"built-in app {app['builtin']!r}")
        except loader.AppError as ex:
            problems.append(Problem(where, str(ex)))
        host = params.get("servient_host")
        if isinstance(host, str):
            problems += _servient_host(
                host, (*where, "servient_host"), networks_of, node.get("networks") or []
            )
    return problems


def _servient_host(host: str, path: tuple, networks_of: dict, own_networks: list) -> list[Problem]:
    peer, _, network = host.partition(".")
    if peer not in networks_of or network not in networks_of[peer]:
        aliases = ", ".join(
            f"{n}.{net}" for n, nets in networks_of.items() for net in nets if isinstance(net, str)
        )
        return [Problem(path, f"{host!r} is not a node's `<node>.<network>` address; they are: {aliases}")]
    if network not in own_networks:
        return [Problem(path, f"{host!r} is on network {network!r}, which this node is not attached to")]
    return []


def _label_list(labels: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(none)"


def _placement(data: dict, hosts: list[dict]) -> list[Problem]:
    """Against the inventory's hosts: some host must carry the labels and have room for the limits."""
    problems = []
    for key in ("nodes", "brokers"):
        for index, item in _items(data, key):
            placement = item.get("placement") if isinstance(item.get("placement"), dict) else {}
            matching = [
                host
                for host in hosts
                if all(
                    str(host.get("labels", {}).get(label)) == str(value) for label, value in placement.items()
                )
            ]
            if not matching:
                # What Swarm would leave "Pending" for ever: say which service, which constraint, and
                # what each host offers instead.
                wanted = " && ".join(f"node.labels.{k} == {v}" for k, v in placement.items())
                offered = "; ".join(
                    f"{host.get('name')}: {_label_list(host.get('labels', {}))}" for host in hosts
                )
                problems.append(
                    Problem(
                        (key, index, "placement"),
                        f"{key[:-1]} {item.get('name')!r} needs {wanted}, which no host satisfies; "
                        f"the hosts' labels are: {offered}",
                    )
                )
                continue
            resources = item.get("resources") if isinstance(item.get("resources"), dict) else {}
            problems += _fits(key, index, resources, matching)
    return problems


def _fits(key: str, index: int, resources: dict, hosts: list[dict]) -> list[Problem]:
    problems = []
    cpus = max((h["cpus"] for h in hosts if h.get("cpus")), default=None)
    mem = max((h["mem_bytes"] for h in hosts if h.get("mem_bytes")), default=None)
    cpu_limit = resources.get("cpu_limit")
    if cpus and isinstance(cpu_limit, int | float) and cpu_limit > cpus:
        problems.append(
            Problem(
                (key, index, "resources", "cpu_limit"),
                f"{cpu_limit} cores, but the largest eligible host has {cpus}",
            )
        )
    try:
        mem_limit = units.size_bytes(resources["mem_limit"])
    except (KeyError, ValueError):
        return problems
    if mem and mem_limit > mem:
        problems.append(
            Problem(
                (key, index, "resources", "mem_limit"),
                f"{mem_limit} bytes, but the largest eligible host has {mem} bytes of memory",
            )
        )
    return problems


def check(data: dict, base_dir: Path, hosts: list[dict] | None = None) -> list[Problem]:
    networks = _names(data, "networks")
    problems = _duplicates(data, ("networks",), "network")
    problems += _duplicates(data, ("nodes", "brokers"), "service")
    problems += _service_names(data)
    problems += _network_refs(data, "nodes", networks)
    problems += _network_refs(data, "brokers", networks)
    problems += _brokers(data, networks)
    problems += _mqtt_consumers(data)
    problems += _subnets(data)
    problems += _pool(data)
    problems += _app_paths(data, base_dir)
    problems += _builtin_params(data)
    if hosts:
        problems += _placement(data, hosts)
    return problems
