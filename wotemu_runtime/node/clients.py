"""The servient's protocol binding clients; CoAP's and MQTT's are made on a node's first call over them.

wotpy's default servient imports and builds a client for every protocol. Its module already
imports the HTTP, WebSocket and Zenoh clients, but CoAP's (aiocoap) and MQTT's (amqtt) cost a
few MB more per replica, which a consumer never needs unless a Thing it consumes offers only
those protocols. A `LazyClient` answers wotpy's client choice from the Thing's forms alone, as
the real client would, and makes the real one when a call first goes through it.
"""

from wotpy.protocols.coap.enums import CoAPSchemes
from wotpy.protocols.enums import Protocols
from wotpy.protocols.http.client import HTTPClient
from wotpy.protocols.mqtt.enums import MQTTSchemes
from wotpy.protocols.utils import is_scheme_form
from wotpy.protocols.ws.client import WebsocketClient
from wotpy.protocols.zenoh.client import ZenohClient

from wotemu_runtime.node import wotpy_fixes

# Form schemes of the lazily made clients, as their own is_supported_interaction() checks them.
_SCHEMES = {Protocols.COAP: CoAPSchemes.list(), Protocols.MQTT: MQTTSchemes.list()}


class LazyClient:
    """Stands for one protocol's client until something else than its choice is asked of it."""

    def __init__(self, protocol: str, make):
        self.protocol = protocol
        self._make = make
        self._client = None

    def is_supported_interaction(self, td, name) -> bool:
        return any(is_scheme_form(form, td.base, _SCHEMES[self.protocol]) for form in td.get_forms(name))

    def __getattr__(self, attr):
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, attr)


def _coap_client():
    wotpy_fixes.apply_coap()
    from wotpy.protocols.coap.client import CoAPClient

    return CoAPClient()


def _mqtt_client(broker_hosts: dict[str, str]):
    wotpy_fixes.apply_mqtt()
    from wotemu_runtime.node.mqtt import ReachableBrokerMQTTClient

    return ReachableBrokerMQTTClient(broker_hosts, deliver_timeout_secs=wotpy_fixes.MQTT_DELIVER_TIMEOUT_S)


def build_clients(broker_hosts: dict[str, str]) -> dict:
    """wotpy's default clients (every protocol), CoAP and MQTT made on first use."""
    wotpy_fixes.apply_ws()
    return {
        Protocols.WEBSOCKETS: WebsocketClient(),
        Protocols.HTTP: HTTPClient(),
        Protocols.ZENOH: ZenohClient(),
        Protocols.COAP: LazyClient(Protocols.COAP, _coap_client),
        Protocols.MQTT: LazyClient(Protocols.MQTT, lambda: _mqtt_client(broker_hosts)),
    }
