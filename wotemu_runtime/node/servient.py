"""The node's servient: the protocols its app serves, on the configured ports and host name.

Only the servers of the protocols the node serves are imported (each binding costs memory in
every replica); clients are in wotemu_runtime/node/clients.py.
"""

from wotemu_runtime.config import task_name
from wotemu_runtime.contract.ports import PORTS
from wotemu_runtime.node import wotpy_fixes
from wotemu_runtime.node.clients import build_clients
from wotemu_runtime.node.instrument import TimedServient

# The MQTT server looks for newly exposed Things every event_callback_ms; events emitted before it
# noticed are lost (QoS 0). wotpy's default is about 2 s; 200 ms loses only the first instants.
MQTT_EVENT_CALLBACK_MS = 200


def _http_server(config: dict, ports: dict):
    from wotpy.protocols.http.server import HTTPServer

    return HTTPServer(port=ports["http"])


def _ws_server(config: dict, ports: dict):
    from wotpy.protocols.ws.server import WebsocketServer

    wotpy_fixes.apply_ws_server()

    return WebsocketServer(port=ports["ws"])


def _coap_server(config: dict, ports: dict):
    return wotpy_fixes.coap_server(ports["coap"])


def _mqtt_server(config: dict, ports: dict):
    from wotpy.protocols.mqtt.server import MQTTServer

    broker = config.get("broker")
    if not broker:
        raise ValueError("the node serves MQTT but its config names no broker")
    return MQTTServer(
        f"mqtt://{broker['host']}:{broker['port']}",
        # The topic prefix: unique per replica, or replicas would answer each other's requests.
        servient_id=task_name(),
        event_callback_ms=MQTT_EVENT_CALLBACK_MS,
    )


SERVERS = {"http": _http_server, "ws": _ws_server, "coap": _coap_server, "mqtt": _mqtt_server}


def build_servient(config: dict, writer) -> TimedServient:
    """A servient serving config["app"]["protocols"] and recording its interactions through `writer`."""
    wotpy_fixes.apply_schemas()
    ports = {**PORTS, **config.get("ports", {})}
    servient = TimedServient(
        writer,
        hostname=config["hostname"],
        catalogue_port=ports["catalogue"],
        clients=build_clients(config.get("broker_hosts") or {}),
    )
    for protocol, make in SERVERS.items():
        if protocol in config["app"].get("protocols", []):
            servient.add_server(make(config, ports))
    return servient
