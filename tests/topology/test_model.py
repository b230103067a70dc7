"""The schema's defaults and presets, and the normaliser's decisions about the stack."""

import hashlib
import json
from pathlib import Path

import pytest

from wotemu_runtime.contract.config import CONFIG_TARGET
from wotemu_runtime.topology.errors import TopologyError
from wotemu_runtime.topology.normalise import build_stack_model, canonical_netem
from wotemu_runtime.topology.schema import Netem, json_schema
from wotemu_runtime.topology.validate import read_document, topology_of, validate_document

ROOT = Path(__file__).resolve().parents[2]
RUN = "demo-20260101T000000"


def topology(**overrides):
    doc = {
        "experiment": {"name": "demo", "seed": 7},
        "networks": [{"name": "cell", "conditions": "regular_3g"}],
        "nodes": [{"name": "clock", "app": {"builtin": "clock"}, "networks": ["cell"]}],
    }
    doc.update(overrides)
    return validate_document(doc, "test.yml", base_dir=ROOT)


def service(model, name):
    return next(s for s in model["services"] if s["name"] == name)


def test_preset_numbers_are_upstream_figures():
    netem = topology().networks[0].netem
    assert (netem.delay, netem.jitter, netem.rate) == (300.0, 150.0, 1_500_000)
    assert netem.loss is None


def test_explicit_netem_overrides_only_its_keys():
    topo = topology(
        networks=[{"name": "cell", "conditions": "lte", "netem": {"delay": "10ms", "loss": "1%"}}]
    )
    netem = topo.networks[0].netem
    assert (netem.delay, netem.jitter, netem.rate) == (10.0, 10.0, 15_000_000)
    assert netem.loss.probability == 1.0


def test_canonical_netem_units_and_gemodel():
    netem = Netem.model_validate(
        {
            "delay": "40ms",
            "jitter": "1ms",
            "loss": {"model": "gemodel", "p": "1%", "bad_loss": "80%"},
            "rate": "1mbit",
        }
    )
    canonical = canonical_netem(netem, seed=3).model_dump()
    assert canonical["delay_ms"] == 40.0 and canonical["rate_bps"] == 1_000_000 and canonical["seed"] == 3
    assert canonical["loss"] == {
        "model": "gemodel",
        "p_pct": 1.0,
        "r_pct": 99.0,
        "h_pct": 20.0,
        "k_pct": 100.0,
    }


def test_no_conditions_means_an_unshaped_gateway_not_a_crash():
    canonical = canonical_netem(topology(networks=[{"name": "cell"}]).networks[0].netem, 0).model_dump()
    assert canonical["delay_ms"] == 0 and canonical["rate_bps"] is None and canonical["loss"] is None


def test_stack_model_services_and_roles():
    model = build_stack_model(topology(), RUN, base_dir=ROOT)
    assert [(s["name"], s["role"]) for s in model["services"]] == [
        ("redis", "store"),
        ("gw_cell", "gateway"),
        ("clock", "node"),
    ]
    # Each service is its own Redis user, named after it; the store creates every user.
    assert model["redis_secrets"] == {u: f"{RUN}-{u}" for u in ("clock", "gw_cell", "redis")}
    assert service(model, "redis")["secrets"] == ["clock", "gw_cell", "redis"]
    # Each container holds only its own password.
    assert [service(model, name)["secrets"] for name in ("gw_cell", "clock")] == [["gw_cell"], ["clock"]]
    assert service(model, "clock")["config"]["redis"]["user"] == "clock"
    users = service(model, "redis")["config"]["users"]
    assert {name: (user["role"], user["networks"]) for name, user in users.items()} == {
        "clock": ("node", ["cell"]),
        "gw_cell": ("gateway", ["cell"]),
        "redis": ("store", []),
    }
    assert users["clock"]["password_file"] == "/run/secrets/wotemu_redis_clock"
    assert service(model, "redis")["caps"] == []  # least privilege: the store needs no capability
    assert "NET_ADMIN" in service(model, "gw_cell")["caps"]


def test_subnets_come_from_the_pool_and_control_is_first():
    topo = topology(networks=[{"name": "cell"}, {"name": "lan", "subnet": "10.211.1.0/24"}, {"name": "wifi"}])
    model = build_stack_model(topo, RUN, base_dir=ROOT)
    assert model["control_network"]["subnet"] == "10.211.0.0/24"
    assert [n["subnet"] for n in model["networks"]] == ["10.211.2.0/24", "10.211.1.0/24", "10.211.3.0/24"]


def test_node_config_aliases_broker_and_seed():
    topo = topology(
        networks=[{"name": "cell"}, {"name": "lan"}],
        nodes=[
            {"name": "clock", "app": {"builtin": "clock", "protocols": ["mqtt"]}, "networks": ["cell", "lan"]}
        ],
        brokers=[{"name": "mq", "networks": ["lan"]}],
    )
    model = build_stack_model(topo, RUN, base_dir=ROOT)
    config = service(model, "clock")["config"]
    assert config["hostname"] == "clock.cell"
    assert [n["alias"] for n in config["networks"]] == ["clock.cell", "clock.lan"]
    assert config["broker"] == {"host": "mq.lan", "port": 1883}
    assert service(model, "gw_lan")["config"]["netem"]["seed"] == 8  # experiment seed + network index


def test_service_configs_are_files_named_by_their_content():
    model = build_stack_model(topology(), RUN, base_dir=ROOT, files_dir="/var/tmp/wotemu/demo")
    clock = service(model, "clock")["config_file"]
    assert json.loads(clock["content"]) == service(model, "clock")["config"]
    assert clock["file"] == "/var/tmp/wotemu/demo/configs/clock.json"
    assert clock["target"] == CONFIG_TARGET
    assert clock["name"] == f"cfg_clock_{hashlib.sha256(clock['content'].encode()).hexdigest()[:12]}"
    other = build_stack_model(topology(), RUN.replace("2026", "2027"), base_dir=ROOT)
    assert service(other, "clock")["config_file"]["name"] != clock["name"]  # Swarm configs are immutable


def test_path_apps_become_swarm_configs_pinned_by_digest():
    topo = topology(
        nodes=[{"name": "server", "app": {"path": "apps/quickstart_server.py"}, "networks": ["cell"]}]
    )
    model = build_stack_model(topo, RUN, base_dir=ROOT)
    (config,) = model["configs"]
    assert config["file"] == str(ROOT / "apps" / "quickstart_server.py")
    assert service(model, "server")["config"]["app"]["path"] == config["target"]
    assert config["name"].startswith("app_server_")


def test_resources_and_placement():
    topo = topology(
        nodes=[
            {
                "name": "clock",
                "app": {"builtin": "clock"},
                "networks": ["cell"],
                "resources": {"cpu_limit": 0.5, "mem_limit": "150M"},
                "placement": {"cpu_class": "small"},
            }
        ]
    )
    clock = service(build_stack_model(topo, RUN, base_dir=ROOT), "clock")
    assert clock["resources"] == {"limits": {"cpus": "0.5", "memory": str(150 * 2**20)}}
    assert clock["constraints"] == ["node.labels.cpu_class == small"]


HOSTS = [
    {"name": "big", "labels": {"cpu_class": "large"}, "cpus": 8, "mem_bytes": 16 * 2**30},
    {"name": "pi", "labels": {"cpu_class": "small"}, "cpus": 4, "mem_bytes": 2**30},
]


def test_placement_must_match_a_host():
    doc = {
        "networks": [{"name": "cell"}],
        "nodes": [
            {
                "name": "clock",
                "app": {"builtin": "clock"},
                "networks": ["cell"],
                "placement": {"cpu_class": "medium"},
            }
        ],
    }
    validate_document(doc, "t.yml", base_dir=ROOT)  # without the inventory's hosts there is nothing to check
    wanted = (
        r"nodes\[0\].placement: node 'clock' needs node.labels.cpu_class == medium, which no host "
        r"satisfies; the hosts' labels are: big: cpu_class=large; pi: cpu_class=small"
    )
    with pytest.raises(TopologyError, match=wanted):
        validate_document(doc, "t.yml", base_dir=ROOT, hosts=HOSTS)


def test_limits_must_fit_the_eligible_hosts():
    doc = {
        "networks": [{"name": "cell"}],
        "nodes": [
            {
                "name": "clock",
                "app": {"builtin": "clock"},
                "networks": ["cell"],
                "placement": {"cpu_class": "small"},
                "resources": {"cpu_limit": 6, "mem_limit": "2G"},
            }
        ],
    }
    with pytest.raises(TopologyError) as info:
        validate_document(doc, "t.yml", base_dir=ROOT, hosts=HOSTS)
    text = str(info.value)
    assert "nodes[0].resources.cpu_limit: 6 cores, but the largest eligible host has 4" in text
    assert (
        "nodes[0].resources.mem_limit: 2147483648 bytes, but the largest eligible host has 1073741824" in text
    )


def test_json_schema_describes_units_and_forbids_unknown_keys():
    schema = json_schema()
    netem = schema["$defs"]["Netem"]
    assert netem["additionalProperties"] is False
    assert {"type": "string"} in netem["properties"]["delay"]["anyOf"]
    assert schema["required"] == ["networks", "nodes"]


def test_probes_are_on_by_default_and_off_with_false():
    on = service(build_stack_model(topology(), RUN), "clock")["config"]
    assert on["probes"] == {"period_s": 60.0, "packets": 100}
    assert on["networks"][0]["rate_bps"] == 1_500_000  # the probe paces itself by the network's rate
    off = topology(experiment={"name": "demo", "probes": False})
    assert service(build_stack_model(off, RUN), "clock")["config"]["probes"] is None


def test_a_new_run_refuses_subnets_that_overlap_the_swarms_networks(tmp_path):
    path = tmp_path / "two.yml"
    path.write_text(
        "experiment: {name: two}\n"
        "networks:\n  - name: cell\n  - name: lan\n    subnet: 10.80.0.0/16\n"
        "nodes:\n  - {name: clock, app: {builtin: clock}, networks: [cell, lan]}\n"
    )
    document = read_document(path, base_dir=ROOT)
    taken = [
        {"name": "one_cell", "subnets": ["10.211.1.0/24"]},  # another run's, from the same default pool
        {"name": "lab", "subnets": ["10.80.7.0/24"]},
        {"name": "two_lan", "subnets": ["10.80.0.0/16"]},  # this stack's own: a run being replaced
    ]
    with pytest.raises(TopologyError) as info:
        topology_of(document, HOSTS, taken)
    text = str(info.value)
    assert (
        "experiment.subnet_pool: network cell would take 10.211.1.0/24, which overlaps the swarm's network "
        "one_cell (10.211.1.0/24): give a free range in `experiment.subnet_pool`, or stop what uses it"
    ) in text
    lan = "networks[1].subnet: network lan would take 10.80.0.0/16, which overlaps the swarm's network lab"
    assert lan in text
    assert "two_lan" not in text
    topology_of(document, HOSTS, [{"name": "elsewhere", "subnets": ["10.99.0.0/24"]}])


def test_access_links_reach_each_gateway_in_canonical_units():
    nodes = [
        {
            "name": "sensor",
            "app": {"builtin": "clock"},
            "networks": ["cell", "lan"],
            "link": {"up": {"rate": "384kbit", "delay": "50ms", "loss": "1%"}, "down": {"rate": "2mbit"}},
        },
        {
            "name": "server",
            "app": {"builtin": "clock"},
            "networks": ["cell", "lan"],
            "link": {"lan": {"down": {"delay": "5ms"}}},
        },
    ]
    networks = [{"name": "cell", "conditions": "regular_3g"}, {"name": "lan", "shaper": "userspace"}]
    model = build_stack_model(topology(nodes=nodes, networks=networks), RUN, base_dir=ROOT)
    cell, lan = service(model, "gw_cell")["config"], service(model, "gw_lan")["config"]
    assert (cell["shaper"], lan["shaper"]) == ("auto", "userspace")
    assert [(link["node"], link["service"]) for link in cell["links"]] == [("sensor", "demo_sensor")]
    up, down = cell["links"][0]["up"], cell["links"][0]["down"]
    assert (up["rate_bps"], up["delay_ms"], up["loss"]["pct"]) == (384_000, 50.0, 1.0)
    assert (down["rate_bps"], down["delay_ms"], down["loss"]) == (2_000_000, 0.0, None)
    # Each network's gateway gets only the links into it: the server's is on lan alone.
    assert [link["node"] for link in lan["links"]] == ["sensor", "server"]
    assert lan["links"][1]["down"]["delay_ms"] == 5.0 and lan["links"][1]["up"]["rate_bps"] is None
