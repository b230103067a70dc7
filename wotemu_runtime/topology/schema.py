"""The topology schema: what a user may write in a topology file, with units and defaults.

Pydantic checks each value on its own (types, units, ranges, unknown keys); the checks that
relate values to each other (references, duplicates, placement) live in `checks.py`.
"""

from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from wotemu_runtime.contract.conditions import DISTRIBUTIONS, nullable
from wotemu_runtime.contract.ports import PROTOCOLS
from wotemu_runtime.node.loader import builtin_names
from wotemu_runtime.topology import units
from wotemu_runtime.topology.presets import PRESETS

BUILTIN_APPS = tuple(builtin_names())


# A DNS label (it becomes part of `<node>.<network>` host names) that is also a valid Docker name.
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"
STACK_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,29}$"
ENV_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
LABEL_PATTERN = r"^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$"
HTTPS_PATTERN = r"^https://\S+$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


def _unit(parser, example: str, maximum: float, minimum: float | None = None):
    """A number field that also accepts a string with a unit (`40ms`, `15mbit`, `0.5%`).

    `maximum` is what the platform can honour (in the base unit): anything above is a typo.
    """
    schema = {
        "anyOf": [{"type": "number", "minimum": 0, "maximum": maximum}, {"type": "string"}],
        "examples": [example],
    }
    checks = [BeforeValidator(parser), WithJsonSchema(schema), Field(le=maximum)]
    if minimum is not None:
        checks.append(Field(gt=minimum))
    return Annotated[float, *checks]


MINUTE_MS = 60_000.0
WEEK_S = 7 * 24 * 3600.0
DurationMs = _unit(units.duration_ms, "40ms", maximum=MINUTE_MS)  # a network delay: a minute at most
DurationS = _unit(units.duration_s, "120s", maximum=WEEK_S, minimum=0)  # a run: a week at most
Instant = _unit(units.duration_s, "30s", maximum=WEEK_S)  # a time since the run started, 0 included
Percent = _unit(units.percent, "1%", maximum=100.0)
Rate = _unit(units.rate_bps, "15mbit", maximum=100e9, minimum=0)  # up to 100 gbit/s
Size = _unit(units.size_bytes, "150M", maximum=float(2**40), minimum=0)  # up to 1 TiB
MANUAL = "manual"  # experiment.duration: the run lasts until `wotemu stop`
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="lower-case letters, digits and inner '-'")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class RandomLoss(Strict):
    """Independent losses, optionally correlated with the previous packet's fate."""

    model: Literal["random"] = "random"
    probability: Percent
    correlation: Percent = 0.0


class GilbertElliottLoss(Strict):
    """Two-state Gilbert-Elliott model, as tc-netem's `loss gemodel p r 1-h 1-k`."""

    model: Literal["gemodel"]
    p: Percent = Field(description="probability of moving from the good to the bad state")
    r: Percent | None = Field(None, description="probability of moving from bad to good (default 100% - p)")
    bad_loss: Percent = Field(100.0, description="loss probability in the bad state (tc's 1-h)")
    good_loss: Percent = Field(0.0, description="loss probability in the good state (tc's 1-k)")


def _loss_shorthand(value: Any) -> Any:
    # `loss: 1%` is the common case; it means independent random loss.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"model": "random", "probability": value}
    if isinstance(value, dict) and "model" not in value:
        return {"model": "random", **value}
    return value


Loss = Annotated[
    RandomLoss | GilbertElliottLoss, Field(discriminator="model"), BeforeValidator(_loss_shorthand)
]


class Netem(Strict):
    """Conditions applied to every packet crossing the network (each direction once)."""

    delay: DurationMs = Field(0.0, description="one-way delay added in each direction")
    jitter: DurationMs = 0.0
    distribution: Literal[DISTRIBUTIONS] = "normal"
    correlation: Percent = Field(0.0, description="correlation of each delay with the previous one")
    loss: Loss | None = None
    duplicate: Percent = 0.0
    corrupt: Percent = 0.0
    reorder: Percent = 0.0
    reorder_correlation: Percent = 0.0
    rate: Rate | None = None
    limit: int = Field(
        1000, strict=True, gt=0, lt=2**32, description="queue limit in packets (32 bits, as the kernel's)"
    )

    @model_validator(mode="after")
    def _delay_needed(self):
        if self.jitter and not self.delay:
            raise ValueError("`jitter` needs a `delay` to vary around")
        if self.reorder and not self.delay:
            raise ValueError("`reorder` needs a `delay`: reordered packets are the ones sent without it")
        return self


SHAPERS = ("auto", "netem", "userspace")
# auto: NetEm where the kernel has sch_netem and the network has no access links, else userspace.
Shaper = Literal[SHAPERS]


class Network(Strict):
    name: Name
    conditions: Literal[tuple(PRESETS)] | None = Field(None, description="a preset; `netem` keys override it")
    netem: Netem = Field(
        Netem(), description="the shared medium: its `rate` is shared by both directions and every replica"
    )
    subnet: IPv4Network | None = Field(None, description="default: the next /24 of experiment.subnet_pool")
    shaper: Shaper | None = Field(None, description="this network's shaping backend (default: experiment's)")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("conditions") in PRESETS:
            explicit = data.get("netem") if isinstance(data.get("netem"), dict) else {}
            if isinstance(data.get("netem"), dict) or data.get("netem") is None:
                data = {**data, "netem": {**PRESETS[data["conditions"]], **explicit}}
        return data


class App(Strict):
    builtin: Literal[BUILTIN_APPS] | None = None
    path: str | None = Field(None, description="a Python file, relative to the project directory")
    url: str | None = Field(None, pattern=HTTPS_PATTERN, description="an https URL")
    sha256: str | None = Field(None, pattern=SHA256_PATTERN, description="pins the file fetched from `url`")
    params: dict[str, Any] = {}
    protocols: list[Literal[PROTOCOLS]] = Field(
        ["http", "ws", "coap"], description="bindings the node serves"
    )

    @model_validator(mode="after")
    def _one_source(self):
        sources = [key for key in ("builtin", "path", "url") if getattr(self, key) is not None]
        if len(sources) != 1:
            raise ValueError(f"give exactly one of `builtin`, `path` or `url` (got {len(sources)})")
        if self.sha256 and not self.url:
            raise ValueError("`sha256` pins a file fetched from `url`; it needs `url`")
        if len(set(self.protocols)) != len(self.protocols):
            raise ValueError("`protocols` lists a protocol twice")
        return self


class Resources(Strict):
    cpu_limit: float | None = Field(None, strict=True, gt=0, le=1024, description="cores, e.g. 0.5")
    cpu_reservation: float | None = Field(None, strict=True, gt=0, le=1024)
    mem_limit: Size | None = Field(None, description="e.g. 150M; Docker's minimum is 6M")
    mem_reservation: Size | None = None

    @field_validator("mem_limit")
    @classmethod
    def _docker_minimum(cls, value):
        if value is not None and value < 6 * 1024**2:
            raise ValueError(f"Docker needs at least 6M of memory, got {int(value)} bytes")
        return value

    @model_validator(mode="after")
    def _reservation_within_limit(self):
        for kind in ("cpu", "mem"):
            limit, reservation = getattr(self, f"{kind}_limit"), getattr(self, f"{kind}_reservation")
            if limit is not None and reservation is not None and reservation > limit:
                raise ValueError(f"`{kind}_reservation` is above `{kind}_limit`")
        return self


class AccessLink(Strict):
    """Each replica's own access link into a network: `up` shapes what it sends, `down` what it receives."""

    up: Netem = Field(Netem(), description="from the replica into the network")
    down: Netem = Field(Netem(), description="from the network to the replica")


LINK_DIRECTIONS = tuple(AccessLink.model_fields)


def _link_form(value: Any) -> str:
    # `link: {up: ..., down: ...}` is every network's; any other key names a network.
    return "every" if isinstance(value, dict) and set(value) & set(LINK_DIRECTIONS) else "per_network"


Link = Annotated[
    Annotated[AccessLink, Tag("every")] | Annotated[dict[Name, AccessLink], Tag("per_network")],
    Discriminator(_link_form),
]


Placement = dict[Annotated[str, Field(pattern=LABEL_PATTERN)], str | int | bool]


class Node(Strict):
    name: Name
    app: App
    networks: list[Name] = Field(min_length=1)
    scale: int = Field(1, strict=True, ge=1, le=1000, description="replicas")
    resources: Resources = Resources()
    placement: Placement = Field({}, description="swarm node labels this service must run on")
    env: dict[Annotated[str, Field(pattern=ENV_PATTERN)], str | int | float | bool] = {}
    broker: Name | None = Field(None, description="the broker for MQTT (default: the only one)")
    link: Link | None = Field(
        None,
        description="each replica's own access link: `{up, down}` into every network, or "
        "`{<network>: {up, down}}`",
    )


class Broker(Strict):
    name: Name
    networks: list[Name] = Field(min_length=1)
    resources: Resources = Resources()
    placement: Placement = {}


class ExtraPorts(Strict):
    tcp: list[Annotated[int, Field(ge=1, le=65535)]] = []
    udp: list[Annotated[int, Field(ge=1, le=65535)]] = []


class Probes(Strict):
    period: DurationS = Field(60.0, le=3600, description="a probe round per network this often; 0: one only")
    packets: int = Field(100, strict=True, ge=1, le=1000, description="UDP echo requests per round")


class Experiment(Strict):
    name: str = Field("wotemu", pattern=STACK_PATTERN, description="the stack name")
    duration: DurationS | Literal[MANUAL] = Field(
        120.0, description="run time after every node is ready, or `manual`: until `wotemu stop`"
    )
    seed: int = Field(0, strict=True, ge=0, lt=2**32)
    repeat: int = Field(
        1,
        strict=True,
        ge=1,
        le=100,
        description="trials of this topology, each with its own seed (wotemu run)",
    )
    subnet_pool: IPv4Network = Field(IPv4Network("10.211.0.0/16"), description="networks get /24s from it")
    system_period: DurationS = Field(2.0, ge=0.1, le=3600, description="system metrics sampling period")
    extra_ports: ExtraPorts = Field(ExtraPorts(), description="more app ports to route through gateways")
    probes: Probes | Literal[False] = Field(Probes(), description="fidelity probes; false: none")
    shaper: Shaper = Field("auto", description="auto: NetEm where the kernel has it, else userspace")


# A change of conditions: any key of `Netem` with its units and bounds, and only the keys given change.
NetemChange = create_model(
    "NetemChange",
    __base__=Strict,
    __doc__="Network conditions to change; the keys not given keep their current values.",
    **{
        name: (nullable(field), Field(None, description=field.description))
        for name, field in Netem.model_fields.items()
    },
)


class Partition(Strict):
    network: Name
    nodes: list[Name] = Field(min_length=1, description="nodes whose replicas are cut off from the rest")


class Kill(Strict):
    node: Name
    replicas: int = Field(strict=True, ge=1, le=1000, description="replicas to crash (Swarm restarts them)")


class Scale(Strict):
    node: Name
    replicas: int = Field(strict=True, ge=0, le=1000, description="the node's replica count from then on")


# Action kinds of the issue that this version does not run yet: refused by name, never ignored.
NOT_YET_ACTIONS = ("link", "trace", "traces")
KINDS = ("netem", "partition", "kill", "scale")


class Action(Strict):
    """One entry of the scenario: a change at a time since the run started, optionally undone."""

    at: Instant = Field(0.0, description="time since the run started (every node ready)")
    for_: DurationS | None = Field(None, alias="for", description="undo the action after this long")
    every: DurationS | None = Field(None, ge=1, description="repeat from `at` this often")
    network: Name | None = Field(None, description="the network whose conditions `netem` changes")
    netem: NetemChange | None = None
    partition: Partition | None = None
    kill: Kill | None = Field(None, description="crash replicas of a node (from the control side)")
    scale: Scale | None = Field(None, description="change a node's replica count (from the control side)")

    @model_validator(mode="before")
    @classmethod
    def _known_kind(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for kind in NOT_YET_ACTIONS:
                if kind in data:
                    raise ValueError(
                        f"`{kind}` actions are not supported yet; an action is one of "
                        "`network` with `netem`, `partition`, `kill` or `scale`"
                    )
        return data

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if getattr(self, kind) is not None)

    @model_validator(mode="after")
    def _one_kind(self):
        if sum(getattr(self, kind) is not None for kind in KINDS) != 1:
            raise ValueError("give exactly one of `netem` (with `network`), `partition`, `kill` or `scale`")
        if (self.netem is None) != (self.network is None):
            raise ValueError("`netem` and `network` go together: the network whose conditions change")
        if self.kill is not None:
            if self.for_ is not None:
                raise ValueError("a `kill` has nothing to undo (Swarm restarts the replicas): drop `for`")
        elif self.every is not None and (self.for_ is None or self.for_ >= self.every):
            raise ValueError(
                "`every` needs a `for` shorter than it: each repetition is undone before the next"
            )
        return self


def _links_not_yet(value: Any) -> Any:
    # Per-pair links are part of the model but not built yet: refused by name, never ignored.
    raise ValueError("per-pair `links` are not supported yet; give each node's own access `link` instead")


NotYetLinks = Annotated[None, BeforeValidator(_links_not_yet), WithJsonSchema({"not": {}})]


class Topology(Strict):
    experiment: Experiment = Experiment()
    networks: list[Network] = Field(min_length=1)
    nodes: list[Node] = Field(min_length=1)
    brokers: list[Broker] = []
    scenario: list[Action] = Field(
        [],
        description="changes over the run: conditions and partitions (applied by the networks' gateways), "
        "kills and scale changes (applied from the control side)",
    )
    links: NotYetLinks = Field(None, description="per-pair links: not supported yet")


def json_schema() -> dict:
    schema = Topology.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "WoTemu topology"
    return schema
