"""wotpy's MQTT client, reaching each broker by the name it has on a network this node is on."""

from urllib import parse

from wotpy.protocols.mqtt.client import MQTTClient


class ReachableBrokerMQTTClient(MQTTClient):
    """A Thing's MQTT forms name its broker as the producer reaches it (`broker.lan`), and wotpy
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
