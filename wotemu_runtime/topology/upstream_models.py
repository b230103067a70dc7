"""A model layer with the API of the original WoTemu (2021) `wotemu.topology.models` and `wotemu.enums`.

`wotemu import` runs a user's original topology file against these classes instead of the original
package: they take the same arguments, keep what was given and the line of the user's file that
gave it, and build nothing (no Compose file, no Docker). upstream.py turns them into our topology.
Only the user-facing API is here; the original's Compose builder is not.
"""

import enum
import inspect
import re


class NetworkConditions(enum.Enum):
    GPRS = "GPRS"
    EDGE = "EDGE"
    REGULAR_3G = "REGULAR_3G"
    FAST_3G = "FAST_3G"
    LTE = "LTE"
    WIFI = "WIFI"
    CABLE = "CABLE"


class NodePlatforms(enum.Enum):
    CONSTRAINED = "CONSTRAINED"
    GATEWAY = "GATEWAY"
    CLOUD = "CLOUD"
    UNCONSTRAINED = "UNCONSTRAINED"


class BuiltinApps(enum.Enum):
    CLOCK = "wotemu_clock"
    ERROR = "wotemu_error"
    READER = "wotemu_reader"
    SUBSCRIBER = "wotemu_subscriber"
    WORKER = "wotemu_worker"
    CALLER = "wotemu_caller"
    MONGO_HISTORIAN = "wotemu_mongo_historian"
    CAMERA = "wotemu_camera"
    DETECTOR = "wotemu_detector"


USER_FILE = {"path": None}  # the file being imported: its frames give each model's line


def _user_line() -> int | None:
    """The line of the user's file that is building the model being constructed."""
    for frame in inspect.stack(context=0):
        if frame.filename == USER_FILE["path"]:
            return frame.lineno
    return None


def _underscore(name: str) -> str:
    """The original's name normalisation (inflection.underscore): CamelCase and '-' become snake_case."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name)
    return name.replace("-", "_").lower()


class Model:
    """Keeps the constructor's arguments (`given`) and the user's line (`line`)."""

    def __init__(self, **given):
        self.given = given
        self.line = _user_line()


class Named(Model):
    """The original's named models compare and hash by their (normalised) name."""

    def __init__(self, name, **given):
        super().__init__(**given)
        self.written_name = name
        self.name = _underscore(name)

    def __eq__(self, other):
        return isinstance(other, Named) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    def __str__(self):
        return self.name


class NodeResources(Model):
    def __init__(
        self,
        cpu_limit=None,
        mem_limit=None,
        cpu_reservation=None,
        mem_reservation=None,
        target_cpu_speed=None,
    ):
        if cpu_limit and target_cpu_speed:
            raise ValueError("Use either CPU limit or target CPU speed")
        super().__init__(
            cpu_limit=cpu_limit,
            mem_limit=mem_limit,
            cpu_reservation=cpu_reservation,
            mem_reservation=mem_reservation,
            target_cpu_speed=target_cpu_speed,
        )


class NodeApp(Model):
    def __init__(self, path, http=False, ws=False, mqtt=False, coap=False, params=None):
        super().__init__(path=path, http=http, ws=ws, mqtt=mqtt, coap=coap, params=params or {})
        self.params = params or {}


class Service(Named):
    def __init__(self, name, image, **kwargs):
        super().__init__(name, image=image, **kwargs)


class Broker(Named):
    def __init__(self, name, networks, args_compose=None):
        super().__init__(name, networks=networks, args_compose=args_compose)
        self.networks = networks


class Network(Named):
    def __init__(self, name, netem=None, conditions=None, args_compose_net=None, args_compose_gw=None):
        if conditions and conditions not in NetworkConditions:
            raise ValueError("Unexpected conditions value")
        super().__init__(
            name,
            netem=netem,
            conditions=conditions,
            args_compose_net=args_compose_net,
            args_compose_gw=args_compose_gw,
        )


class Node(Named):
    def __init__(
        self,
        name,
        app,
        networks,
        broker=None,
        broker_network=None,
        image=None,
        resources=None,
        scale=None,
        args_compose=None,
        services=None,
    ):
        # The original's own checks, so that a file it refused is refused here too.
        if app.given["mqtt"] and not broker:
            raise ValueError("A broker should be defined when MQTT is enabled")
        if broker and broker_network and broker_network not in broker.networks:
            raise ValueError(f"The node's broker ({broker}) is not attached to the node's broker network")
        super().__init__(
            name,
            app=app,
            networks=networks,
            broker=broker,
            broker_network=broker_network,
            image=image,
            resources=resources,
            scale=scale,
            args_compose=args_compose,
            services=services,
        )
        self.app = app
        self.networks = networks
        self.broker = broker
        self.scale = scale
        self.linked = []  # (service, line) from link_service

    def link_service(self, srv):
        self.linked.append((srv, _user_line()))


class TopologyPorts(Model):
    DEFAULTS = {"catalogue": 9090, "http": 80, "ws": 81, "mqtt": 1883, "coap": 5683}

    def __init__(self, catalogue=9090, http=80, ws=81, mqtt=1883, coap=5683):
        super().__init__(catalogue=catalogue, http=http, ws=ws, mqtt=mqtt, coap=coap)


class TopologyRedis(Model):
    DEFAULTS = {"enabled": True, "host": "redis", "redis_url": None}

    def __init__(self, enabled=True, host="redis", redis_url=None):
        super().__init__(enabled=enabled, host=host, redis_url=redis_url)


class TopologyDockerProxy(Model):
    DEFAULTS = {"enabled": True, "host": "docker_api_proxy"}

    def __init__(self, enabled=True, host="docker_api_proxy"):
        super().__init__(enabled=enabled, host=host)


class Topology(Model):
    def __init__(self, nodes, ports=None, redis=None, docker_proxy=None, brokers=None):
        super().__init__(nodes=nodes, ports=ports, redis=redis, docker_proxy=docker_proxy, brokers=brokers)
        self.nodes = nodes
        self.brokers = list(brokers or [])
