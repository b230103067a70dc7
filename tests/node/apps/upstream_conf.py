"""Test app: reads the fields a 2021 WoTemu app read from its EnvConfig, and records what it got."""

FIELDS = (
    "port_catalogue",
    "port_http",
    "port_ws",
    "port_coap",
    "port_mqtt",
    "mqtt_broker_host",
    "mqtt_url",
    "other_ports_tcp",
    "other_ports_udp",
)


async def app(wot, conf, loop):
    gone = {}
    for name in ("redis_url", "docker_proxy_url"):
        try:
            getattr(conf, name)
        except AttributeError as ex:
            gone[name] = str(ex)
    conf.write_metric("upstream_conf", fields={name: getattr(conf, name) for name in FIELDS}, gone=gone)
