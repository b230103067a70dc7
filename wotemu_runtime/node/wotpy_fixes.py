"""Workarounds for wotpy 0.18.0 / aiocoap 0.4.17 (each measured on loopback), applied once per process,
each binding's when the node first uses it (so a node never imports a binding it does not use).

* WS and MQTT clients open a connection per call and, when closing it, poll their receive loops
  with sleeps of 0.1-1 s: a loopback read took about 1 s. The sleeps are shortened here.
* Their teardown still idles a few milliseconds after the answer has arrived. `teardown_started`
  marks the moment a call starts tearing down, so the instrumentation can stop the clock there:
  latency then covers connecting, the request and the answer (network + peer), not the clean-up.
* wotpy validates every WS message, and every Thing Description it builds, with
  `jsonschema.validate`, which first checks the (constant) schema against its metaschema: 5-20 ms
  of CPU per message, most of a loopback WS read. The schemas are checked once per process here;
  the messages and TDs are validated as before, with the same errors.
* aiocoap replays the latest notification to every new iterator and wotpy's CoAP client makes a
  new iterator per notification: observing floods. The fix keeps one iterator per observation.
"""

import contextvars
import functools
import time

import jsonschema
from wotpy.protocols.ws.client import WebsocketClient

# How long an MQTT client's deliver loop waits for a message before checking whether to stop.
# It bounds the teardown idling of each call; shorter costs more wake-ups in live subscriptions.
MQTT_DELIVER_TIMEOUT_S = 0.02

# perf_counter() at which the current task's client call began its teardown (None: not yet).
teardown_started: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "teardown_started", default=None
)


def _stamp_teardown(method):
    @functools.wraps(method)
    async def wrapper(*args, **kwargs):
        if teardown_started.get() is None:
            teardown_started.set(time.perf_counter())
        return await method(*args, **kwargs)

    return wrapper


def _observation_iterator_once(original):
    @functools.wraps(original)
    def __aiter__(self):
        if getattr(self, "_wotemu_iterator", None) is None:
            self._wotemu_iterator = original(self)
        return self._wotemu_iterator

    return __aiter__


# id(schema) -> (schema, its validator); wotpy's schemas are module constants.
_validators: dict[int, tuple[dict, jsonschema.protocols.Validator]] = {}


def validate_against_checked_schema(instance, schema: dict) -> None:
    """`jsonschema.validate`, checking `schema` itself only the first time it is used."""
    known = _validators.get(id(schema))
    if known is None or known[0] is not schema:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        known = _validators[id(schema)] = (schema, cls(schema))
    error = jsonschema.exceptions.best_match(known[1].iter_errors(instance))
    if error is not None:
        raise error


def _validate_thing_description(cls, doc):
    from wotpy.wot.validation import SCHEMA_THING, InvalidDescription

    try:
        validate_against_checked_schema(doc, SCHEMA_THING)
    except (jsonschema.ValidationError, TypeError) as ex:
        raise InvalidDescription(str(ex)) from ex


@functools.cache
def apply_schemas() -> None:
    """Every process: the WS messages (client and server) and the Thing Descriptions."""
    import wotpy.protocols.ws.messages
    from wotpy.wot.td import ThingDescription

    wotpy.protocols.ws.messages.validate = validate_against_checked_schema
    ThingDescription.validate = classmethod(_validate_thing_description)


@functools.cache
def apply_ws_server() -> None:
    import wotpy.protocols.ws.handler

    wotpy.protocols.ws.handler.validate = validate_against_checked_schema


@functools.cache
def apply_ws() -> None:
    WebsocketClient.SLEEP_AFTER_ERR_SECS = 0.005
    WebsocketClient.RECEIVE_LOOP_TERMINATE_SLEEP_SECS = 0.005
    WebsocketClient._stop_conn = _stamp_teardown(WebsocketClient._stop_conn)


@functools.cache
def apply_mqtt() -> None:
    from wotpy.protocols.mqtt.client import MQTTClient

    MQTTClient.DELIVER_TERMINATE_LOOP_SLEEP_SECS = 0.005
    MQTTClient._disconnect_client = _stamp_teardown(MQTTClient._disconnect_client)


@functools.cache
def apply_coap() -> None:
    import aiocoap.protocol

    aiocoap.protocol.ClientObservation.__aiter__ = _observation_iterator_once(
        aiocoap.protocol.ClientObservation.__aiter__
    )


def coap_server(port: int):
    """A CoAP server bound to the IPv4 wildcard.

    wotpy 0.18 binds CoAP to "::", which fails where IPv6 is disabled (Docker's default inside
    containers: "No local bindable address found for ::"); the emulated networks are IPv4 only.
    """
    from wotpy.protocols.coap.server import CoAPServer  # Linux only: imported when used

    class IPv4CoAPServer(CoAPServer):
        def _get_bind_address(self):
            return "0.0.0.0", self.port

    return IPv4CoAPServer(port=port)
