"""An app written for the 2021 WoTemu reads its EnvConfig fields from `conf` in a real node."""

from pathlib import Path

APP = str(Path(__file__).resolve().parent / "apps" / "upstream_conf.py")


def test_an_upstream_app_reads_its_envconfig_fields(nodes):
    extra = {"broker": {"host": "broker.cell", "port": 1883}, "extra_ports": {"tcp": [8080], "udp": [9999]}}
    config = nodes.config("upstream", {"path": APP, "protocols": []}, **extra)
    nodes.start(config)
    (record,) = nodes.wait_for(lambda records: len(records) == 1, "app")
    ports = config["ports"]
    assert record["data"]["fields"] == {
        "port_catalogue": ports["catalogue"],
        "port_http": ports["http"],
        "port_ws": ports["ws"],
        "port_coap": ports["coap"],
        "port_mqtt": ports["mqtt"],
        "mqtt_broker_host": "broker.cell",
        "mqtt_url": "mqtt://broker.cell:1883",
        "other_ports_tcp": [8080],
        "other_ports_udp": [9999],
    }
    gone = record["data"]["gone"]
    assert gone["redis_url"].startswith("conf.redis_url is gone: apps record through conf.write_metric")
    assert gone["docker_proxy_url"] == (
        "conf.docker_proxy_url is gone: no container sees the Docker API (least privilege)"
    )


def test_a_node_without_a_broker_has_no_mqtt_url(nodes):
    nodes.start(nodes.config("upstream", {"path": APP, "protocols": []}))
    (record,) = nodes.wait_for(lambda records: len(records) == 1, "app")
    assert record["data"]["fields"]["mqtt_broker_host"] is None
    assert record["data"]["fields"]["mqtt_url"] is None
