"""From a validated topology to the stack model: services, their configs, networks and files.

The stack template (wotemu_runtime/topology/stack.yml.j2) only lays this model out as YAML;
every decision about the stack is taken here, in one place, and unit-tested.
"""

import hashlib
import json
from datetime import UTC, datetime
from ipaddress import IPv4Network
from pathlib import Path

from wotemu_runtime.contract import config as service
from wotemu_runtime.contract.conditions import Conditions, ConditionsChange, GilbertElliottLoss, RandomLoss
from wotemu_runtime.contract.ports import PORTS
from wotemu_runtime.contract.versions import image_tag
from wotemu_runtime.topology.faults import faults
from wotemu_runtime.topology.schema import MANUAL, Netem, Network, Topology

APP_DIR = "/opt/wotemu/apps"
CONTROL_NETWORK = "control"  # unshaped: Redis and the readiness handshake never cross a gateway
# NET_ADMIN for routes, qdiscs and iptables; NET_RAW because iptables opens a raw socket.
NET_CAPS = ["NET_ADMIN", "NET_RAW"]
GATEWAY_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.send_redirects": "0",  # a redirect would let peers bypass the gateway
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.conf.all.rp_filter": "0",
}
NODE_SYSCTLS = {"net.ipv4.conf.all.rp_filter": "0"}  # replies arrive through the gateway


def alias(service_name: str, network: str) -> str:
    """A service's name on one of its networks (all its replicas answer to it)."""
    return f"{service_name}.{network}"


def gateway_name(network: str) -> str:
    return f"gw_{network}"


# Config names are keys of the stack file: `docker stack deploy` prefixes them with `<stack>_`.
def app_config_name(node: str, digest: str) -> str:
    return f"app_{node}_{digest[:12]}"


def service_config_name(service_name: str, digest: str) -> str:
    """Swarm configs are immutable: the content's digest in the name gives a changed config a new one."""
    return f"cfg_{service_name}_{digest[:12]}"


def secret_target(user: str) -> str:
    """Where a container finds the password of Redis user `user` (under /run/secrets/)."""
    return f"wotemu_redis_{user}"


def secret_name(run_id: str, user: str) -> str:
    """The Docker secret holding `user`'s password. Swarm allows 64 characters: the run id is the
    stack and 16 more, and checks.py keeps stack and service within 46 (their config names)."""
    return f"{run_id}-{user}"


def _password_file(user: str) -> str:
    return f"/run/secrets/{secret_target(user)}"


def _store(name: str) -> service.Store:
    """Every service connects as its own Redis user, named after it (contract.acl)."""
    return service.Store(host="redis", user=name, password_file=_password_file(name))


def new_run_id(stack: str, now: datetime | None = None) -> str:
    return f"{stack}-{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%S')}"


def canonical_netem(netem: Netem, seed: int) -> Conditions:
    """The conditions in the fixed units of docs/design.md §8.2."""
    loss = netem.loss
    if loss is None:
        canonical_loss = None
    elif loss.model == "random":
        canonical_loss = RandomLoss(pct=loss.probability, correlation_pct=loss.correlation)
    else:
        canonical_loss = GilbertElliottLoss(
            p_pct=loss.p,
            r_pct=100.0 - loss.p if loss.r is None else loss.r,
            h_pct=100.0 - loss.bad_loss,
            k_pct=100.0 - loss.good_loss,
        )
    return Conditions(
        delay_ms=netem.delay,
        jitter_ms=netem.jitter,
        distribution=netem.distribution,
        delay_correlation_pct=netem.correlation,
        loss=canonical_loss,
        duplicate_pct=netem.duplicate,
        corrupt_pct=netem.corrupt,
        reorder_pct=netem.reorder,
        reorder_correlation_pct=netem.reorder_correlation,
        rate_bps=None if netem.rate is None else int(netem.rate),
        limit_packets=netem.limit,
        seed=seed,
    )


# The canonical key each user key of `netem` becomes (canonical_netem's arithmetic).
CANONICAL_KEYS = {
    "delay": "delay_ms",
    "jitter": "jitter_ms",
    "distribution": "distribution",
    "correlation": "delay_correlation_pct",
    "loss": "loss",
    "duplicate": "duplicate_pct",
    "corrupt": "corrupt_pct",
    "reorder": "reorder_pct",
    "reorder_correlation": "reorder_correlation_pct",
    "rate": "rate_bps",
    "limit": "limit_packets",
}


def scenario_of(topology: Topology, network: Network) -> list[service.ScenarioAction]:
    """The actions of the scenario on `network`, in canonical units, for its gateway."""
    actions = []
    for index, action in enumerate(topology.scenario):
        change, cut_off = None, []
        if action.network == network.name:
            given = action.netem.model_dump(exclude_unset=True)
            # Converted together with the network's own conditions, as a Gilbert-Elliott loss
            # needs them; only the keys the action gives are kept.
            merged = canonical_netem(Netem.model_validate({**network.netem.model_dump(), **given}), 0)
            change = ConditionsChange(
                **{CANONICAL_KEYS[key]: getattr(merged, CANONICAL_KEYS[key]) for key in given}
            )
        elif action.partition is not None and action.partition.network == network.name:
            cut_off = [alias(node, network.name) for node in action.partition.nodes]
        else:
            continue
        actions.append(
            service.ScenarioAction(
                index=index,
                at_s=action.at,
                for_s=action.for_,
                every_s=action.every,
                netem=change,
                partition=cut_off,
            )
        )
    return actions


def assigned_subnets(topology: Topology) -> dict[str, str]:
    """Explicit subnets stay; the control network and the others get free /24s of the pool, in order.

    Fixed subnets keep Docker's allocator from picking one that overlaps ours.
    """
    taken = [n.subnet for n in topology.networks if n.subnet]
    free = (
        s
        for s in topology.experiment.subnet_pool.subnets(new_prefix=24)
        if not any(s.overlaps(t) for t in taken)
    )
    subnets = {}
    for name, explicit in [(CONTROL_NETWORK, None), *((n.name, n.subnet) for n in topology.networks)]:
        subnet = explicit or next(free, None)
        if subnet is None:
            raise ValueError(f"experiment.subnet_pool {topology.experiment.subnet_pool} has no /24 left")
        subnets[name] = str(IPv4Network(subnet))
    return subnets


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _resources(resources) -> dict:
    limits, reservations = {}, {}
    if resources.cpu_limit:
        limits["cpus"] = f"{resources.cpu_limit:g}"
    if resources.mem_limit:
        limits["memory"] = str(int(resources.mem_limit))
    if resources.cpu_reservation:
        reservations["cpus"] = f"{resources.cpu_reservation:g}"
    if resources.mem_reservation:
        reservations["memory"] = str(int(resources.mem_reservation))
    return {key: value for key, value in (("limits", limits), ("reservations", reservations)) if value}


def _constraints(placement: dict) -> list[str]:
    return [f"node.labels.{label} == {value}" for label, value in sorted(placement.items())]


def access_links_of(topology: Topology, network: Network, seed: int) -> list[service.AccessLink]:
    """The access links of the nodes on `network`, in canonical units, for its gateway."""
    links = []
    for node in topology.nodes:
        if node.link is None or network.name not in node.networks:
            continue
        link = node.link.get(network.name) if isinstance(node.link, dict) else node.link
        if link is None:
            continue
        links.append(
            service.AccessLink(
                node=node.name,
                service=f"{topology.experiment.name}_{node.name}",
                up=canonical_netem(link.up, seed),
                down=canonical_netem(link.down, seed),
            )
        )
    return links


def build_stack_model(
    topology: Topology,
    run_id: str,
    base_dir: Path | None = None,
    image: str | None = None,
    files_dir: str | None = None,
    duration: float | None = None,
    seed: int | None = None,
) -> dict:
    """Everything the stack template needs, for one run of `topology`.

    `files_dir` is the run's directory on the host that deploys: app files go to its `apps/`, service
    configs to its `configs/` (default: app files where they are, configs in `configs/` beside the
    stack file).
    `duration` (seconds, or "manual") overrides experiment.duration and `seed` experiment.seed (a
    trial's); the model records what was overridden.
    """
    base_dir = base_dir or Path.cwd()
    overrides, in_force = {}, {}
    for key, value in (("duration", duration), ("seed", seed)):
        if value is not None and value != getattr(topology.experiment, key):
            overrides[f"experiment.{key}"] = {
                "topology": getattr(topology.experiment, key),
                "in_force": value,
            }
            in_force[key] = value
    if in_force:
        topology = topology.model_copy(update={"experiment": topology.experiment.model_copy(update=in_force)})
    experiment = topology.experiment
    stack = experiment.name
    subnets = assigned_subnets(topology)
    extra_ports = service.ExtraPorts.model_validate(experiment.extra_ports.model_dump())
    common = {
        "run_id": run_id,
        "stack": stack,
        "seed": experiment.seed,
    }
    configs_dir = f"{files_dir}/configs" if files_dir else "configs"

    rates = {n.name: None if n.netem.rate is None else int(n.netem.rate) for n in topology.networks}

    def attachments(name: str, networks: list[str]) -> list[service.Attachment]:
        return [
            service.Attachment(
                name=net,
                subnet=subnets[net],
                gateway=gateway_name(net),
                alias=alias(name, net),
                rate_bps=rates[net],
            )
            for net in networks
        ]

    def layout(config: service.ServiceConfig) -> dict:
        return config.model_dump(mode="json")

    def config_file(config: service.ServiceConfig) -> dict:
        """The service config as the Swarm config file each container reads at CONFIG_TARGET."""
        content = json.dumps(layout(config), sort_keys=True, indent=2) + "\n"
        digest = hashlib.sha256(content.encode()).hexdigest()
        return {
            "name": service_config_name(config.service, digest),
            "file": f"{configs_dir}/{config.service}.json",
            "target": service.CONFIG_TARGET,
            "content": content,
        }

    services, configs = [], []
    users: dict[str, service.RedisUser] = {}

    def add_service(config: service.ServiceConfig, role: str, attached=(), user_networks=(), **deploy):
        """One service of the stack: its config (as a file), its Redis user (`user_networks`: the
        networks whose keys it writes, contract.acl), the aliases of its `attached` networks and how
        it runs. `deploy` overrides the defaults below (one replica, no capabilities)."""
        user = config.redis.user
        users[user] = service.RedisUser(
            role=role, password_file=_password_file(user), networks=list(user_networks)
        )
        services.append(
            {
                "name": config.service,
                "role": role,
                "replicas": 1,
                "config": layout(config),
                "config_file": config_file(config),
                "secrets": [config.redis.user],
                "networks": [{"name": n.name, "aliases": [n.alias]} for n in attached],
                "caps": [],
                "sysctls": {},
                "resources": {},
                "constraints": [],
                "env": {},
                "restart": "any",
                "app_config": None,
                **deploy,
            }
        )

    for index, network in enumerate(topology.networks):
        name = gateway_name(network.name)
        config = service.GatewayConfig(
            **common,
            redis=_store(name),
            service=name,
            network=network.name,
            subnet=subnets[network.name],
            netem=canonical_netem(network.netem, experiment.seed + index),
            shaper=network.shaper or experiment.shaper,
            links=access_links_of(topology, network, experiment.seed + index),
            extra_ports=extra_ports,
            scenario=scenario_of(topology, network),
        )
        add_service(
            config,
            "gateway",
            user_networks=[network.name],
            networks=[{"name": network.name, "aliases": []}],
            caps=NET_CAPS,
            sysctls=GATEWAY_SYSCTLS,
        )
    brokers = {broker.name: broker for broker in topology.brokers}
    for broker in topology.brokers:
        nets = attachments(broker.name, broker.networks)
        config = service.BrokerConfig(
            **common,
            redis=_store(broker.name),
            service=broker.name,
            networks=nets,
            extra_ports=extra_ports,
            system_period_s=experiment.system_period,
        )
        add_service(
            config,
            "broker",
            nets,
            caps=NET_CAPS,
            sysctls=NODE_SYSCTLS,
            resources=_resources(broker.resources),
            constraints=_constraints(broker.placement),
        )
    for node in topology.nodes:
        nets = attachments(node.name, node.networks)
        app = node.app
        app_config = None
        if app.builtin:
            app_ref, app_ref_fields = service.BuiltinApp, {"builtin": app.builtin}
        elif app.url:
            app_ref, app_ref_fields = service.UrlApp, {"url": app.url, "sha256": app.sha256}
        else:
            source = (base_dir / app.path).resolve()
            digest = _file_digest(source)
            app_config = {
                "name": app_config_name(node.name, digest),
                "source": str(source),
                "file": f"{files_dir}/apps/{node.name}.py" if files_dir else str(source),
                "target": f"{APP_DIR}/{node.name}.py",
            }
            configs.append(app_config)
            app_ref, app_ref_fields = service.PathApp, {"path": app_config["target"], "sha256": digest}
        broker = _broker_of(node, brokers, topology)
        config = service.NodeConfig(
            **common,
            redis=_store(node.name),
            service=node.name,
            app=app_ref.model_validate({**app_ref_fields, "params": app.params, "protocols": app.protocols}),
            networks=nets,
            hostname=nets[0].alias,
            broker=broker,
            broker_hosts=_broker_hosts(node, topology),
            extra_ports=extra_ports,
            system_period_s=experiment.system_period,
            probes=_probes(experiment),
        )
        add_service(
            config,
            "node",
            nets,
            user_networks=[net.name for net in nets],
            replicas=node.scale,
            caps=NET_CAPS,
            sysctls=NODE_SYSCTLS,
            resources=_resources(node.resources),
            constraints=_constraints(node.placement),
            env={k: str(v) for k, v in node.env.items()},
            restart="on-failure",
            app_config=app_config,
        )
    # The store creates every service's user (its own too), so it is laid out last, then put first.
    # It runs on a manager: the playbooks poll it with `docker exec` on the manager that deployed.
    users["redis"] = service.RedisUser(role="store", password_file=_password_file("redis"))
    store_config = service.StoreConfig(**common, service="redis", redis=_store("redis"), users=users)
    add_service(store_config, "store", secrets=sorted(users), constraints=["node.role == manager"])
    services.insert(0, services.pop())
    return {
        "stack": stack,
        "run_id": run_id,
        "image": image or image_tag(),
        "duration_s": None if experiment.duration == MANUAL else experiment.duration,  # None: until stopped
        "overrides": overrides,
        "redis_secrets": {user: secret_name(run_id, user) for user in sorted(users)},
        "control_network": {"name": CONTROL_NETWORK, "subnet": subnets[CONTROL_NETWORK]},
        "networks": [{"name": n.name, "subnet": subnets[n.name]} for n in topology.networks],
        "services": services,
        "configs": configs,
        "stop_waves": _stop_waves(topology),
        # A manual run has no run phase to drive them (its validation refuses kills and scales).
        "faults": []
        if experiment.duration == MANUAL
        else [fault.model_dump() for fault in faults(topology, stack, experiment.seed, experiment.duration)],
        "topology": topology.model_dump(mode="json"),
    }


def _probes(experiment) -> service.Probes | None:
    if experiment.probes is False:
        return None
    return service.Probes(period_s=experiment.probes.period, packets=experiment.probes.packets)


def _stop_waves(topology: Topology) -> list[list[str]]:
    """The services in the order the stop phase scales them down: consumers before what they consume.

    A node consumes the node its built-in app's `servient_host` names; each wave holds the nodes
    that no node still running consumes (a cycle goes down in one wave), and the brokers and
    gateways go last (with the last nodes when none of those uses a broker), so that no
    interaction fails because the stop took its peer away first.
    """
    consumes = {
        node.name: {str(node.app.params.get("servient_host", "")).partition(".")[0]}
        for node in topology.nodes
    }
    running, waves = [node.name for node in topology.nodes], []
    while running:
        consumed = set().union(*(consumes[name] for name in running))
        wave = [name for name in running if name not in consumed] or running
        waves.append(wave)
        running = [name for name in running if name not in wave]
    last = [b.name for b in topology.brokers] + [gateway_name(n.name) for n in topology.networks]
    # A node needs no gateway to stop (it flushes to the store over the control network): the last
    # nodes go down with the gateways, unless one of them still talks to a broker.
    nodes = {node.name: node for node in topology.nodes}
    if waves and not any(_uses_broker(nodes[name]) for name in waves[-1]):
        return [*waves[:-1], waves[-1] + last]
    return [*waves, last]


def _uses_broker(node) -> bool:
    return node.broker is not None or "mqtt" in node.app.protocols


def stopped(stack_model: dict, waves: int) -> dict:
    """The same stack with the services of its first `waves` stop waves scaled to zero: Swarm sends
    SIGTERM, the roles flush their metrics and exit, and the store (in no wave) keeps everything."""
    services = {name for wave in stack_model["stop_waves"][:waves] for name in wave}
    scaled = [{**s, "replicas": 0} if s["name"] in services else s for s in stack_model["services"]]
    return {**stack_model, "services": scaled}


def _broker_of(node, brokers: dict, topology: Topology) -> service.BrokerAddress | None:
    """The broker a node uses, addressed on a network they share (validation ensured one exists)."""
    if not _uses_broker(node):
        return None
    broker = brokers[node.broker] if node.broker else topology.brokers[0]
    network = next(net for net in node.networks if net in broker.networks)
    return service.BrokerAddress(host=f"{broker.name}.{network}", port=PORTS["mqtt"])


def _broker_hosts(node, topology: Topology) -> dict[str, str]:
    """Every name of every broker the node shares a network with, mapped to the one it can resolve.

    A Thing's MQTT forms name its broker as the producer reaches it (`broker.lan`); a consumer on
    another of the broker's networks (`cell`) reaches the same broker as `broker.cell`.
    """
    hosts = {}
    for broker in topology.brokers:
        shared = next((net for net in node.networks if net in broker.networks), None)
        if shared is not None:
            hosts.update({f"{broker.name}.{net}": f"{broker.name}.{shared}" for net in broker.networks})
    return hosts
