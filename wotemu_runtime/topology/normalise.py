"""From a validated topology to the stack model: services, their configs, networks and files.

The stack template (roles/experiment/templates/stack.yml.j2) only lays this model out as YAML;
every decision about the stack is taken here, in one place, and unit-tested.
"""

import hashlib
from datetime import UTC, datetime
from ipaddress import IPv4Network
from pathlib import Path

from wotemu_runtime import __version__
from wotemu_runtime.topology.schema import Netem, Topology

PORTS = {"catalogue": 9090, "http": 80, "ws": 81, "coap": 5683, "mqtt": 1883}
REDIS_PORT = 6379
SECRET_TARGET = "wotemu_redis_password"
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


def new_run_id(stack: str, now: datetime | None = None) -> str:
    return f"{stack}-{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%S')}"


def canonical_netem(netem: Netem, seed: int) -> dict:
    """The conditions in the fixed units of docs/design.md §8.2."""
    loss = netem.loss
    if loss is None:
        canonical_loss = None
    elif loss.model == "random":
        canonical_loss = {"model": "random", "pct": loss.probability, "correlation_pct": loss.correlation}
    else:
        canonical_loss = {
            "model": "gemodel",
            "p_pct": loss.p,
            "r_pct": 100.0 - loss.p if loss.r is None else loss.r,
            "h_pct": 100.0 - loss.bad_loss,
            "k_pct": 100.0 - loss.good_loss,
        }
    return {
        "delay_ms": netem.delay,
        "jitter_ms": netem.jitter,
        "distribution": netem.distribution,
        "delay_correlation_pct": netem.correlation,
        "loss": canonical_loss,
        "duplicate_pct": netem.duplicate,
        "corrupt_pct": netem.corrupt,
        "reorder_pct": netem.reorder,
        "reorder_correlation_pct": netem.reorder_correlation,
        "rate_bps": None if netem.rate is None else int(netem.rate),
        "limit_packets": netem.limit,
        "seed": seed,
    }


def _subnets(topology: Topology) -> dict[str, str]:
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


def build_stack_model(
    topology: Topology,
    run_id: str,
    base_dir: Path | None = None,
    image: str | None = None,
    redis_secret: str | None = None,
    files_dir: str | None = None,
) -> dict:
    """Everything the stack template needs, for one run of `topology`.

    `files_dir` is where the app files will be on the host that deploys (default: where they are).
    """
    base_dir = base_dir or Path.cwd()
    experiment = topology.experiment
    stack = experiment.name
    subnets = _subnets(topology)
    extra_ports = experiment.extra_ports.model_dump()
    common = {
        "run_id": run_id,
        "stack": stack,
        "seed": experiment.seed,
        "ports": PORTS,
        "redis": {"host": "redis", "port": REDIS_PORT, "password_file": f"/run/secrets/{SECRET_TARGET}"},
    }

    def attachments(name: str, networks: list[str]) -> list[dict]:
        return [
            {"name": net, "subnet": subnets[net], "gateway": f"gw_{net}", "alias": f"{name}.{net}"}
            for net in networks
        ]

    services, configs = [], []
    # The store runs on a manager: the playbooks poll it with `docker exec` on the manager that deployed.
    services.append(
        {
            "name": "redis",
            "role": "store",
            "replicas": 1,
            "config": {**common, "service": "redis"},
            "networks": [],
            "caps": [],
            "sysctls": {},
            "resources": {},
            "constraints": ["node.role == manager"],
            "env": {},
            "restart": "any",
            "app_config": None,
        }
    )
    for index, network in enumerate(topology.networks):
        name = f"gw_{network.name}"
        config = {
            **common,
            "service": name,
            "network": network.name,
            "subnet": subnets[network.name],
            "netem": canonical_netem(network.netem, experiment.seed + index),
            "extra_ports": extra_ports,
        }
        services.append(
            {
                "name": name,
                "role": "gateway",
                "replicas": 1,
                "config": config,
                "networks": [{"name": network.name, "aliases": []}],
                "caps": NET_CAPS,
                "sysctls": GATEWAY_SYSCTLS,
                "resources": {},
                "constraints": [],
                "env": {},
                "restart": "any",
                "app_config": None,
            }
        )
    brokers = {broker.name: broker for broker in topology.brokers}
    for broker in topology.brokers:
        nets = attachments(broker.name, broker.networks)
        config = {
            **common,
            "service": broker.name,
            "networks": nets,
            "extra_ports": extra_ports,
            "system_period_s": experiment.system_period,
        }
        services.append(
            {
                "name": broker.name,
                "role": "broker",
                "replicas": 1,
                "config": config,
                "networks": [{"name": n["name"], "aliases": [n["alias"]]} for n in nets],
                "caps": NET_CAPS,
                "sysctls": NODE_SYSCTLS,
                "resources": _resources(broker.resources),
                "constraints": _constraints(broker.placement),
                "env": {},
                "restart": "any",
                "app_config": None,
            }
        )
    for node in topology.nodes:
        nets = attachments(node.name, node.networks)
        app = node.app
        app_config, app_ref = None, None
        if app.builtin:
            app_ref = {"builtin": app.builtin}
        elif app.url:
            app_ref = {"url": app.url, "sha256": app.sha256}
        else:
            source = (base_dir / app.path).resolve()
            digest = _file_digest(source)
            app_config = {
                "name": f"{stack}_app_{node.name}_{digest[:12]}",
                "source": str(source),
                "file": f"{files_dir}/{node.name}.py" if files_dir else str(source),
                "target": f"{APP_DIR}/{node.name}.py",
            }
            configs.append(app_config)
            app_ref = {"path": app_config["target"], "sha256": digest}
        broker = _broker_of(node, brokers, topology)
        config = {
            **common,
            "service": node.name,
            "app": {**app_ref, "params": app.params, "protocols": app.protocols},
            "networks": nets,
            "hostname": nets[0]["alias"],
            "broker": broker,
            "extra_ports": extra_ports,
            "system_period_s": experiment.system_period,
        }
        services.append(
            {
                "name": node.name,
                "role": "node",
                "replicas": node.scale,
                "config": config,
                "networks": [{"name": n["name"], "aliases": [n["alias"]]} for n in nets],
                "caps": NET_CAPS,
                "sysctls": NODE_SYSCTLS,
                "resources": _resources(node.resources),
                "constraints": _constraints(node.placement),
                "env": {k: str(v) for k, v in node.env.items()},
                "restart": "on-failure",
                "app_config": app_config,
            }
        )
    return {
        "stack": stack,
        "run_id": run_id,
        "image": image or f"wotemu-runtime:{__version__}",
        "duration_s": experiment.duration,
        "redis_secret": redis_secret or f"{run_id}-redis",
        "secret_target": SECRET_TARGET,
        "control_network": {"name": CONTROL_NETWORK, "subnet": subnets[CONTROL_NETWORK]},
        "networks": [{"name": n.name, "subnet": subnets[n.name]} for n in topology.networks],
        "services": services,
        "configs": configs,
        "topology": topology.model_dump(mode="json"),
    }


def stopped(stack_model: dict) -> dict:
    """The same stack with every service but the store scaled to zero: Swarm sends SIGTERM, the
    roles flush their metrics and exit, and the store keeps everything for the export."""
    services = [
        {**s, "replicas": s["replicas"] if s["role"] == "store" else 0} for s in stack_model["services"]
    ]
    return {**stack_model, "services": services}


def _broker_of(node, brokers: dict, topology: Topology) -> dict | None:
    """The broker a node uses, addressed on a network they share (validation ensured one exists)."""
    if node.broker is None and "mqtt" not in node.app.protocols:
        return None
    broker = brokers[node.broker] if node.broker else topology.brokers[0]
    network = next(net for net in node.networks if net in broker.networks)
    return {"host": f"{broker.name}.{network}", "port": PORTS["mqtt"]}
