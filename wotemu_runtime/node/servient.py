"""The node's servient: the protocols its app serves, on the configured ports and host name."""

from wotpy.protocols.http.server import HTTPServer
from wotpy.protocols.mqtt.server import MQTTServer
from wotpy.protocols.ws.server import WebsocketServer

from wotemu_runtime.config import task_name
from wotemu_runtime.contract.ports import PORTS
from wotemu_runtime.node import wotpy_fixes
from wotemu_runtime.node.instrument import TimedServient

# The MQTT server looks for newly exposed Things every event_callback_ms; events emitted before it
# noticed are lost (QoS 0). wotpy's default is about 2 s; 200 ms loses only the first instants.
MQTT_EVENT_CALLBACK_MS = 200


def build_servient(config: dict, writer) -> TimedServient:
    """A servient serving config["app"]["protocols"] and recording its interactions through `writer`."""
    wotpy_fixes.apply()
    ports = {**PORTS, **config.get("ports", {})}
    protocols = set(config["app"].get("protocols", []))
    servient = TimedServient(
        writer,
        hostname=config["hostname"],
        catalogue_port=ports["catalogue"],
        clients_config=wotpy_fixes.clients_config(),
    )
    if "http" in protocols:
        servient.add_server(HTTPServer(port=ports["http"]))
    if "ws" in protocols:
        servient.add_server(WebsocketServer(port=ports["ws"]))
    if "coap" in protocols:
        servient.add_server(wotpy_fixes.coap_server(ports["coap"]))
    if "mqtt" in protocols:
        broker = config.get("broker")
        if not broker:
            raise ValueError("the node serves MQTT but its config names no broker")
        servient.add_server(
            MQTTServer(
                f"mqtt://{broker['host']}:{broker['port']}",
                # The topic prefix: unique per replica, or replicas would answer each other's requests.
                servient_id=task_name(),
                event_callback_ms=MQTT_EVENT_CALLBACK_MS,
            )
        )
    return servient
