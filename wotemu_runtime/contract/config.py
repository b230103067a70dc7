"""The service config of each role (design §8.1): one JSON document per container, at CONFIG_TARGET.

The topology normaliser builds these models; the deploy writes each service's as a Swarm config
file mounted at CONFIG_TARGET (a file is never templated: neither `docker stack deploy` nor Swarm
expands `$` or `{{` in it); a container parses its own once when it starts, so a bad config stops
it with one clear message before it does anything. Field order is the JSON's order.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wotemu_runtime.contract.conditions import Conditions, ConditionsChange
from wotemu_runtime.contract.ports import PORTS, PROTOCOLS, REDIS_PORT

Port = Annotated[int, Field(ge=1, le=65535)]

CONFIG_TARGET = "/etc/wotemu/service.json"  # where every container finds its service config
# The roles of the Redis ACL users (contract.acl holds what each may do). Every service has its own
# user, named after the service; a container holds only its own user's password.
REDIS_ROLES = ("store", "gateway", "node", "broker")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Ports(_Strict):
    catalogue: Port = PORTS["catalogue"]
    http: Port = PORTS["http"]
    ws: Port = PORTS["ws"]
    coap: Port = PORTS["coap"]
    mqtt: Port = PORTS["mqtt"]


class Store(_Strict):
    """Where the run's Redis is, the ACL user to connect as and the file holding that user's
    password (a Docker secret in the stack). No user: Redis's default user."""

    host: str
    port: Port = REDIS_PORT
    user: str | None = None
    password_file: str | None = None


class RedisUser(_Strict):
    """An ACL user the store creates: what its role may do, confined to its service's keys."""

    role: Literal[REDIS_ROLES]
    password_file: str
    networks: list[str] = []  # a gateway's network (its announcement), a node's (its probes)


class ExtraPorts(_Strict):
    tcp: list[Port] = []
    udp: list[Port] = []


class Attachment(_Strict):
    """A service on one emulated network: reached there as `alias`, shaped by `gateway`."""

    name: str
    subnet: str
    gateway: str
    alias: str
    rate_bps: int | None = None  # the network's configured rate: the fidelity probe paces itself by it


class BrokerAddress(_Strict):
    host: str
    port: Port


class Probes(_Strict):
    """The fidelity probe (net/probe.py): one round per network before the apps, then one per period."""

    period_s: Annotated[float, Field(ge=0)] = 60.0  # 0: the first round only
    packets: Annotated[int, Field(ge=1, le=1000)] = 100  # echo requests per round


class BuiltinApp(_Strict):
    builtin: str
    params: dict[str, Any] = {}
    protocols: list[Literal[PROTOCOLS]] = []


class PathApp(_Strict):
    path: str
    sha256: str | None = None
    params: dict[str, Any] = {}
    protocols: list[Literal[PROTOCOLS]] = []


class UrlApp(_Strict):
    url: str
    sha256: str | None = None
    params: dict[str, Any] = {}
    protocols: list[Literal[PROTOCOLS]] = []


class ServiceConfig(_Strict):
    """The keys every role has."""

    run_id: str
    stack: str
    seed: int | None = None
    ports: Ports = Ports()
    redis: Store
    service: str


class StoreConfig(ServiceConfig):
    # Every ACL user the store creates, by name (its own, `redis.user`, among them).
    users: dict[str, RedisUser] = {}


Seconds = Annotated[float, Field(ge=0)]


class ScenarioAction(_Strict):
    """One action of the topology's `scenario` on this gateway's network (net/timeline.py runs them).

    Times are seconds since the run's window opened. Active from each start (`at_s`, then every
    `every_s`) for `for_s` (None: to the end of the run). It changes the conditions (`netem`), or
    cuts the nodes `partition` names (their `<node>.<network>` aliases) off from the others.
    """

    index: int  # its place in the topology's `scenario` list: records and the report name it by it
    at_s: Seconds
    for_s: Annotated[float, Field(gt=0)] | None = None
    every_s: Annotated[float, Field(gt=0)] | None = None
    netem: ConditionsChange | None = None
    partition: list[str] = []


class Fault(_Strict):
    """One kill or scale of the topology's `scenario`, applied to the swarm from the control side.

    The run phase hands the stack model's list of these to each swarm host's fault runner
    (library/wotemu_faults.py). `t_s` counts from the run's window opening. A kill crashes the running
    replicas of `service` whose task slots are in `slots` (Swarm restarts them, as a crashed device
    comes back); a scale sets the service's replica count to `replicas` (`undo`: the end of a `for`).
    """

    index: int  # its place in the topology's `scenario` list
    kind: Literal["kill", "scale"]
    node: str
    service: str  # the Swarm service (<stack>_<node>)
    t_s: Seconds
    replicas: int
    slots: list[int] = []
    undo: bool = False


SHAPERS = ("auto", "netem", "userspace")


class AccessLink(_Strict):
    """One node's per-replica access link into the gateway's network. The gateway finds the node's
    replicas' addresses by resolving `tasks.<service>` (the Swarm service), again and again."""

    node: str
    service: str
    up: Conditions = Conditions()  # what each replica sends into the network
    down: Conditions = Conditions()  # what each replica receives from it


class GatewayConfig(ServiceConfig):
    network: str
    subnet: str
    netem: Conditions = Conditions()
    shaper: Literal[SHAPERS] = "auto"
    links: list[AccessLink] = []
    extra_ports: ExtraPorts = ExtraPorts()
    scenario: list[ScenarioAction] = []


class BrokerConfig(ServiceConfig):
    networks: list[Attachment] = []
    extra_ports: ExtraPorts = ExtraPorts()
    system_period_s: Annotated[float, Field(gt=0)] = 2.0


class NodeConfig(ServiceConfig):
    app: BuiltinApp | PathApp | UrlApp
    networks: list[Attachment] = []
    hostname: str
    broker: BrokerAddress | None = None
    # Every name of a broker the node shares a network with -> the one it resolves (MQTT forms).
    broker_hosts: dict[str, str] = {}
    extra_ports: ExtraPorts = ExtraPorts()
    system_period_s: Annotated[float, Field(gt=0)] = 2.0
    probes: Probes | None = Probes()  # None: `experiment.probes: false`


ROLE_CONFIGS: dict[str, type[ServiceConfig]] = {
    "store": StoreConfig,
    "gateway": GatewayConfig,
    "broker": BrokerConfig,
    "node": NodeConfig,
}
