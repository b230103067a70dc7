"""`wotemu import`: an original WoTemu (2021) topology file, converted into our topology document.

The user's Python file runs unmodified, as the user, against upstream_models (a `wotemu` package of
our own, put in sys.modules only for that import and removed after): that is code execution, like
the original's `wotemu compose`, and it needs neither network nor Docker. What has no equivalent
here is listed by name with the line of the user's file that asked for it, never silently dropped.
"""

import importlib.util
import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path

from wotemu_runtime.topology import upstream_models as models
from wotemu_runtime.topology.schema import BUILTIN_APPS, MANUAL

# The original's netem JSON keys that have an equivalent here (its `latency` is our `delay`).
NETEM_KEYS = {"latency": "delay", "jitter": "jitter", "rate": "rate", "correlation": "correlation"}
MS_KEYS = ("delay", "jitter")  # the original's bare numbers are milliseconds
PROTOCOL_FLAGS = ("http", "ws", "coap", "mqtt")


@dataclass(frozen=True)
class Unconverted:
    what: str  # e.g. "node reader: args_compose"
    line: int | None
    why: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "line unknown"
        return f"{where}: {self.what} not converted: {self.why}"


def _fake_modules() -> dict[str, types.ModuleType]:
    """The module names an original topology file imports, all backed by upstream_models."""
    names = ["wotemu", "wotemu.enums", "wotemu.topology", "wotemu.topology.models"]
    modules = {name: types.ModuleType(name) for name in names}
    for name in ("wotemu", "wotemu.topology"):
        modules[name].__path__ = []  # a package, so that its submodules import
    modules["wotemu"].enums = modules["wotemu.enums"]
    modules["wotemu"].topology = modules["wotemu.topology"]
    modules["wotemu.topology"].models = modules["wotemu.topology.models"]
    for attr in ("NetworkConditions", "NodePlatforms", "BuiltinApps"):
        setattr(modules["wotemu.enums"], attr, getattr(models, attr))
    for attr in (
        "NetworkConditions",
        "BuiltinApps",
        "NodeResources",
        "NodeApp",
        "Service",
        "Broker",
        "Network",
        "Node",
        "TopologyPorts",
        "TopologyRedis",
        "TopologyDockerProxy",
        "Topology",
    ):
        setattr(modules["wotemu.topology.models"], attr, getattr(models, attr))
    return modules


def load_topology(path: Path, func: str = "topology") -> models.Topology:
    """Run the user's file and its `func()` with our `wotemu` package in place of the original's."""
    path = path.resolve()
    fakes = _fake_modules()
    saved = {name: sys.modules[name] for name in fakes if name in sys.modules}
    sys.modules.update(fakes)
    models.USER_FILE["path"] = str(path)
    try:
        spec = importlib.util.spec_from_file_location(f"wotemu_import_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        topology = getattr(module, func)()
    finally:
        models.USER_FILE["path"] = None
        for name in fakes:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
    if not isinstance(topology, models.Topology):
        raise TypeError(f"{path}: {func}() returned {type(topology).__name__}, not a Topology")
    return topology


def _name(name: str) -> str:
    # Ours are DNS labels: the original's snake_case names take '-' for '_'.
    return name.replace("_", "-")


class Converter:
    def __init__(self):
        self.unconverted: list[Unconverted] = []
        self.renamed: dict[str, str] = {}

    def _drop(self, what: str, model: models.Model, why: str) -> None:
        self.unconverted.append(Unconverted(what, model.line, why))

    def _named(self, model: models.Named) -> str:
        name = _name(model.name)
        if name != model.written_name:  # host names in app params may need the same change
            self.renamed[model.written_name] = name
        return name

    def _netem(self, net: models.Network, label: str) -> dict:
        netem = {}
        for arg in net.given["netem"] or []:
            try:
                values = json.loads(arg)
            except (TypeError, ValueError):
                self._drop(f"{label}: netem {arg!r}", net, "not the original 0.6 JSON form")
                continue
            for key, value in values.items():
                if value is None:
                    continue
                if key not in NETEM_KEYS:
                    self._drop(
                        f"{label}: netem {key}", net, "no equivalent here (tbf burst and latency are not set)"
                    )
                    continue
                ours = NETEM_KEYS[key]
                netem[ours] = f"{value}ms" if ours in MS_KEYS and isinstance(value, int | float) else value
        return netem

    def network(self, net: models.Network) -> dict:
        label = f"network {net.name}"
        doc = {"name": self._named(net)}
        if net.given["netem"]:
            doc["netem"] = self._netem(net, label)
        elif net.given["conditions"]:
            doc["conditions"] = net.given["conditions"].name.lower()
        for key in ("args_compose_net", "args_compose_gw"):
            if net.given[key]:
                self._drop(f"{label}: {key}", net, "raw Compose settings have no equivalent here")
        return doc

    def _app(self, app: models.NodeApp, label: str) -> dict | None:
        """The app, or None (and the node is left out) when it has no equivalent here."""
        path = app.given["path"]
        if isinstance(path, models.BuiltinApps):
            builtin = path.value.removeprefix("wotemu_")
            if builtin not in BUILTIN_APPS:
                self._drop(
                    f"{label}: app {path.name}", app, "this built-in is not available here (node left out)"
                )
                return None
            doc = {"builtin": builtin}
        elif str(path).startswith("http://"):
            self._drop(f"{label}: app url {path}", app, "only https URLs are fetched (node left out)")
            return None
        elif str(path).startswith("https://"):
            doc = {"url": path}
        else:
            doc = {"path": str(path)}  # the original ran it from the image: here it is the project's file
        if app.params:
            doc["params"] = dict(app.params)
        doc["protocols"] = [flag for flag in PROTOCOL_FLAGS if app.given[flag]]
        return doc

    def _resources(self, res: models.NodeResources, label: str) -> dict:
        doc = {}
        for key in ("cpu_limit", "cpu_reservation"):
            if res.given[key]:
                doc[key] = float(res.given[key])
        for key in ("mem_limit", "mem_reservation"):
            if res.given[key]:
                doc[key] = res.given[key]
        if res.given["target_cpu_speed"]:
            self._drop(f"{label}: target_cpu_speed", res, "CPU-speed emulation is not available here yet")
        return doc

    def node(self, node: models.Node) -> dict | None:
        label = f"node {node.name}"
        app = self._app(node.app, label)
        if app is None:
            return None
        doc = {"name": self._named(node), "app": app, "networks": [_name(net.name) for net in node.networks]}
        if node.scale:
            doc["scale"] = node.scale
        if node.given["resources"]:
            resources = self._resources(node.given["resources"], label)
            if resources:
                doc["resources"] = resources
        if node.broker:
            doc["broker"] = _name(node.broker.name)
        if node.given["broker_network"] and node.given["broker_network"] != node.broker.networks[0]:
            self._drop(f"{label}: broker_network", node, "nodes reach their broker on its first network")
        if node.given["image"]:
            self._drop(f"{label}: image", node, "every node runs the runtime image")
        if node.given["args_compose"]:
            self._drop(f"{label}: args_compose", node, "raw Compose settings have no equivalent here")
        for srv in node.given["services"] or []:
            self._drop(
                f"{label}: service {srv.name}", srv, "extra services (databases...) are not deployed here"
            )
        for srv, line in node.linked:
            self.unconverted.append(
                Unconverted(f"{label}: service {srv.name}", line, "extra services are not deployed here")
            )
        return doc

    def broker(self, broker: models.Broker) -> dict:
        if broker.given["args_compose"]:
            self._drop(
                f"broker {broker.name}: args_compose", broker, "raw Compose settings have no equivalent"
            )
        return {"name": self._named(broker), "networks": [_name(net.name) for net in broker.networks]}

    def _defaults(self, topology: models.Topology) -> None:
        for key in ("ports", "redis", "docker_proxy"):
            model = topology.given[key]
            if model is not None and model.given != model.DEFAULTS:
                self._drop(f"topology: {key}", model, "ports, the store and the Docker API are fixed here")

    def topology(self, topology: models.Topology, name: str) -> dict:
        self._defaults(topology)
        brokers = list(dict.fromkeys([*topology.brokers, *(n.broker for n in topology.nodes if n.broker)]))
        networks = list(
            dict.fromkeys(
                [net for node in topology.nodes for net in node.networks]
                + [net for broker in brokers for net in broker.networks]
            )
        )
        document = {
            # The original ran until `wotemu stop`: so does the converted run.
            "experiment": {"name": name, "duration": MANUAL},
            "networks": [self.network(net) for net in networks],
            "nodes": [doc for doc in map(self.node, topology.nodes) if doc is not None],
        }
        if brokers:
            document["brokers"] = [self.broker(broker) for broker in brokers]
        return document


def convert(path: Path, name: str, func: str = "topology") -> tuple[dict, Converter]:
    """Our topology document for the original topology file `path`, and what could not be converted."""
    converter = Converter()
    return converter.topology(load_topology(path, func), name), converter
