"""The node's servient: the protocols its app serves, on the configured ports and host name."""

from urllib import parse

from wotpy.protocols.enums import Protocols
from wotpy.protocols.http.server import HTTPServer
from wotpy.protocols.mqtt.client import MQTTClient
from wotpy.protocols.mqtt.server import MQTTServer
from wotpy.protocols.ws.server import WebsocketServer

from wotemu_runtime.config import task_name
from wotemu_runtime.contract.ports import PORTS
from wotemu_runtime.node import wotpy_fixes
from wotemu_runtime.node.instrument import TimedServient

# The MQTT server looks for newly exposed Things every event_callback_ms; events emitted before it
# noticed are lost (QoS 0). wotpy's default is about 2 s; 200 ms loses only the first instants.
MQTT_EVENT_CALLBACK_MS = 200


class ReachableBrokerMQTTClient(MQTTClient):
    """wotpy's MQTT client, reaching each broker by the name it has on a network this node is on.

    A Thing's MQTT forms name its broker as the producer reaches it (`broker.lan`), and wotpy
    connects to that host verbatim; a consumer on another of the broker's networks (`cell`) can
    resolve only `broker.cell`. `broker_hosts` (from the node config) maps one to the other.
    """

    def __init__(self, broker_hosts: dict[str, str], **kwargs):
        super().__init__(**kwargs)
        self._broker_hosts = broker_hosts

    def _parse_href(self, href):
        parsed = parse.urlparse(href)
        host = self._broker_hosts.get(parsed.hostname)
        if host is not None:
            href = parsed._replace(netloc=f"{host}:{parsed.port}" if parsed.port else host).geturl()
        return super()._parse_href(href)


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
    mqtt_config = wotpy_fixes.clients_config()[Protocols.MQTT]
    servient.add_client(ReachableBrokerMQTTClient(config.get("broker_hosts") or {}, **mqtt_config))
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
