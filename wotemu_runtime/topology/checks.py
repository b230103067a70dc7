"""Checks that relate values to each other: names, references, subnets, brokers, placement.

They read the raw document (not the validated model) so that they can report alongside the
schema's errors: a user fixes everything in one pass.
"""

from collections import Counter
from ipaddress import IPv4Network
from pathlib import Path
from urllib.parse import urlsplit

from wotemu_runtime.node import loader
from wotemu_runtime.topology import access_links, normalise, scenario, units
from wotemu_runtime.topology.errors import Problem
from wotemu_runtime.topology.schema import Topology

RESERVED_SERVICES = {"redis": "the stack's metrics store"}
HOSTNAME_MAX = 64  # Linux's limit, and Swarm names each container's host after its task
TASK_ID_CHARS = 25  # Swarm's task ids
CONFIG_NAME_MAX = 64  # Swarm's limit for a config's name, after `docker stack deploy` scopes it
# Environment variables a node's `env` may not set: the runtime's own, and those that change what
# the container's Python or its dynamic linker load.
RESERVED_ENV_PREFIXES = ("WOTEMU_", "LD_")
RESERVED_ENV = {
    "PATH",
    "HOME",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONPLATLIBDIR",
}
# Docker's default ingress network (every swarm has one); a network inside it would clash.
INGRESS_SUBNET = IPv4Network("10.0.0.0/24")
# Besides the replicas, each network holds its gateway, the load balancer endpoint of every
# swarm node it spans and the addresses Docker keeps (network, gateway, broadcast).
RESERVED_ADDRESSES = 3


def _items(data: dict, key: str) -> list[tuple[int, dict]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(index, item) for index, item in enumerate(value) if isinstance(item, dict)]


def _strings(value) -> list[str]:
    """The text items of a list the user wrote (the schema reports the others)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


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
        if isinstance(item.get("name"), str) and seen[item["name"]] > 1
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


def _stack(data: dict) -> str:
    experiment = data.get("experiment") if isinstance(data.get("experiment"), dict) else {}
    stack = experiment.get("name", "wotemu")
    return stack if isinstance(stack, str) else "wotemu"


def _hostname_problem(path: tuple, stack: str, service: str, replicas) -> Problem | None:
    """Each container's host name is its Swarm task name: `<stack>_<service>.<slot>.<task id>`."""
    slots = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
    hostname = f"{stack}_{service}.{slots}.{'x' * TASK_ID_CHARS}"
    if len(hostname) <= HOSTNAME_MAX:
        return None
    room = HOSTNAME_MAX - len(hostname) + len(stack) + len(service)
    return Problem(
        path,
        f"the containers' host names ('{stack}_{service}.<slot>.<task id>') would be {len(hostname)} "
        f"characters; Linux allows {HOSTNAME_MAX}: make the stack and this name {room} characters together",
    )


def _service_names(data: dict) -> list[Problem]:
    stack, most = _stack(data), scenario.most_replicas(data)
    problems = []
    for key in ("nodes", "brokers"):
        for index, item in _items(data, key):
            name = item.get("name")
            if not isinstance(name, str):
                continue
            if name in RESERVED_SERVICES:
                problems.append(
                    Problem((key, index, "name"), f"{name!r} is reserved for {RESERVED_SERVICES[name]}")
                )
            replicas = most.get(name, 1) if key == "nodes" else 1
            problem = _hostname_problem((key, index, "name"), stack, name, replicas)
            problems += [problem] if problem else []
            problem = _config_name_problem((key, index, "name"), stack, name)
            problems += [problem] if problem else []
    for index, item in _items(data, "networks"):
        name = item.get("name")
        if name == normalise.CONTROL_NETWORK:
            problems.append(
                Problem(("networks", index, "name"), f"{name!r} is reserved for the stack's unshaped network")
            )
        elif isinstance(name, str):
            gateway = normalise.gateway_name(name)
            problem = _hostname_problem(("networks", index, "name"), stack, gateway, 1)
            problems += [problem] if problem else []
            problem = _config_name_problem(("networks", index, "name"), stack, gateway)
            problems += [problem] if problem else []
    problem = _config_name_problem(("experiment", "name"), stack, "redis")
    return problems + ([problem] if problem else [])


def _config_name_problem(path: tuple, stack: str, service: str) -> Problem | None:
    """Each service's config (and a node's app file: a name as long) is a Swarm config, named
    with a digest of its content and scoped by `docker stack deploy` with the stack's name."""
    config = f"{stack}_{normalise.service_config_name(service, '0' * 64)}"
    if len(config) <= CONFIG_NAME_MAX:
        return None
    return Problem(
        path,
        f"the service config of {service!r} becomes the Swarm config {config!r} ({len(config)} characters); "
        f"Swarm allows {CONFIG_NAME_MAX}: shorten the stack or service name",
    )


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
        shared = set(_strings(node.get("networks"))) & set(_strings(brokers[chosen].get("networks")))
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
        own, its = _strings(node.get("networks")), _strings(broker.get("networks"))
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


def _unusable(subnet: IPv4Network) -> str | None:
    """Why an overlay network cannot use this range, or None."""
    for kind, bad in (
        ("loopback", subnet.is_loopback),
        ("multicast", subnet.is_multicast),
        ("link-local", subnet.is_link_local),
        ("unspecified", subnet.network_address.is_unspecified),
        ("reserved", subnet.is_reserved),
    ):
        if bad:
            return f"{subnet} is a {kind} range, which no overlay network can use"
    if subnet.overlaps(INGRESS_SUBNET):
        return f"{subnet} overlaps Docker's ingress network ({INGRESS_SUBNET})"
    return None


def _members(data: dict, network: str) -> int:
    """Addresses the network's services take: every replica attached (at its largest count in the
    run), and its gateway."""
    count, most = 1, scenario.most_replicas(data)
    for key in ("nodes", "brokers"):
        for _, item in _items(data, key):
            if isinstance(item.get("networks"), list) and network in item["networks"]:
                name = item.get("name")
                count += most.get(name, 1) if key == "nodes" and isinstance(name, str) else 1
    return count


def _subnet(item: dict) -> IPv4Network | None:
    try:
        return IPv4Network(item["subnet"]) if item.get("subnet") else IPv4Network("0.0.0.0/24")
    except (ValueError, TypeError):
        return None  # the schema reports the bad value


def _subnet_ranges(data: dict) -> list[Problem]:
    explicit, problems = [], []
    for index, item in _items(data, "networks"):
        subnet = _subnet(item)
        if subnet is None or not item.get("subnet"):
            continue
        explicit.append((index, subnet))
        reason = _unusable(subnet)
        if reason:
            problems.append(Problem(("networks", index, "subnet"), reason))
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


def _subnet_room(data: dict, swarm_nodes: int) -> list[Problem]:
    """Each network's subnet must hold its replicas, its gateway and one address per swarm node."""
    problems = []
    for index, item in _items(data, "networks"):
        subnet = _subnet(item)
        if subnet is None:
            continue
        where = ("networks", index, "subnet") if item.get("subnet") else ("networks", index, "name")
        needed = _members(data, item.get("name")) + swarm_nodes
        room = subnet.num_addresses - RESERVED_ADDRESSES
        if needed > room:
            problems.append(
                Problem(
                    where,
                    f"{'its /24' if not item.get('subnet') else subnet} holds {max(room, 0)} addresses but "
                    f"{needed} are needed (replicas, the gateway and one per swarm node): give the network "
                    "a larger `subnet`",
                )
            )
    return problems


def _pool(data: dict) -> list[Problem]:
    """The pool must be usable and hold a /24 for the control network and each network without a subnet."""
    experiment = data.get("experiment") if isinstance(data.get("experiment"), dict) else {}
    try:
        pool = IPv4Network(experiment.get("subnet_pool", "10.211.0.0/16"))
    except (ValueError, TypeError):
        return []  # the schema reports the bad value
    reason = _unusable(pool)
    if reason:
        return [Problem(("experiment", "subnet_pool"), reason)]
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


def _env(data: dict) -> list[Problem]:
    problems = []
    for index, node in _items(data, "nodes"):
        env = node.get("env") if isinstance(node.get("env"), dict) else {}
        for name in env:
            if isinstance(name, str) and (name in RESERVED_ENV or name.startswith(RESERVED_ENV_PREFIXES)):
                problems.append(
                    Problem(
                        ("nodes", index, "env", name),
                        f"{name!r} is reserved: the runtime sets WOTEMU_*, PATH and HOME, and LD_* or "
                        "Python's search paths would change what the container loads",
                    )
                )
    return problems


def _app_paths(data: dict, base_dir: Path) -> list[Problem]:
    problems = []
    project = base_dir.resolve()
    for index, node in _items(data, "nodes"):
        app = node.get("app")
        if not (isinstance(app, dict) and isinstance(app.get("path"), str)):
            continue
        where = ("nodes", index, "app", "path")
        try:
            path = (base_dir / app["path"]).resolve()
            inside = path.is_relative_to(project)
            found = inside and path.is_file()
        except (OSError, ValueError) as ex:  # a name too long, a NUL byte, a symlink loop...
            problems.append(Problem(where, f"not a usable path: {getattr(ex, 'strerror', None) or ex}"))
            continue
        if not inside:
            problems.append(Problem(where, f"{app['path']!r} leads outside the project directory {project}"))
        elif not found:
            problems.append(Problem(where, f"no such file: {path} (paths are relative to {project})"))
        elif path.suffix != ".py":
            problems.append(Problem(where, "an app is a Python file ending in .py"))
    return problems


def _app_urls(data: dict) -> list[Problem]:
    problems = []
    for index, node in _items(data, "nodes"):
        app = node.get("app")
        url = app.get("url") if isinstance(app, dict) else None
        if isinstance(url, str) and "@" in urlsplit(url).netloc:
            problems.append(
                Problem(
                    ("nodes", index, "app", "url"),
                    "the URL carries credentials, which would be kept in run.json and the report; "
                    "pin a public file with `sha256` instead",
                )
            )
    return problems


def _builtin_params(data: dict) -> list[Problem]:
    """Built-in apps' params against their signatures, and `servient_host` against the topology."""
    networks_of = {
        item["name"]: _strings(item.get("networks"))
        for _, item in _items(data, "nodes")
        if isinstance(item.get("name"), str)
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


def check(data: dict, base_dir: Path) -> list[Problem]:
    """What the document alone must satisfy (the swarm's own limits come in `check_swarm`)."""
    networks = _names(data, "networks")
    problems = _duplicates(data, ("networks",), "network")
    problems += _duplicates(data, ("nodes", "brokers"), "service")
    problems += _service_names(data)
    problems += _network_refs(data, "nodes", networks)
    problems += _network_refs(data, "brokers", networks)
    problems += _brokers(data, networks)
    problems += _mqtt_consumers(data)
    problems += _subnet_ranges(data)
    problems += _subnet_room(data, 1)
    problems += _pool(data)
    problems += _env(data)
    problems += _app_paths(data, base_dir)
    problems += _app_urls(data)
    problems += _builtin_params(data)
    problems += scenario.check(data)
    problems += access_links.check(data)
    return problems


def _subnets_free(data: dict, taken: list[dict]) -> list[Problem]:
    """The subnets this run would take must not overlap a network already on the swarm: Swarm would
    leave the run's tasks unscheduled ("Pool overlaps") until the ready timeout, saying nothing."""
    topology = Topology.model_validate(data)  # the document passed its schema already
    stack = topology.experiment.name
    indexes = {item.get("name"): index for index, item in _items(data, "networks")}
    problems = []
    for name, subnet in normalise.assigned_subnets(topology).items():
        explicit = name in indexes and data["networks"][indexes[name]].get("subnet")
        path = ("networks", indexes[name], "subnet") if explicit else ("experiment", "subnet_pool")
        for other in taken:
            if other["name"].startswith(f"{stack}_"):
                continue  # this stack's own, from the run being replaced
            clash = [s for s in other["subnets"] if IPv4Network(s).overlaps(IPv4Network(subnet))]
            if clash:
                remedy = "another `subnet`" if explicit else "a free range in `experiment.subnet_pool`"
                problems.append(
                    Problem(
                        path,
                        f"network {name} would take {subnet}, which overlaps the swarm's network "
                        f"{other['name']} ({', '.join(clash)}): give {remedy}, or stop what uses it",
                    )
                )
    return problems


def check_swarm(data: dict, hosts: list[dict], networks: list[dict] = ()) -> list[Problem]:
    """What depends on the real swarm: room for one address per node, labels and limits of its hosts,
    and subnets that no network already there (`networks`: name and subnets) overlaps."""
    return _subnet_room(data, max(1, len(hosts))) + _placement(data, hosts) + _subnets_free(data, networks)
