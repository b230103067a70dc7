"""Helpers for apps: find peers' Things through their catalogues, write app-defined metrics.

Importable (`from wotemu_runtime.node import helpers`) and bound to the node in `conf`
(`conf.wait_node(...)`, `conf.consume_thing(...)`, `conf.write_metric(...)`).
"""

import asyncio
import json
import logging
import os
import random
import time

from tornado.httpclient import AsyncHTTPClient

from wotemu_runtime.contract.ports import PORTS

log = logging.getLogger(__name__)


async def fetch_catalogue(host: str, port: int = PORTS["catalogue"], timeout: float = 10.0) -> dict:
    """The expanded catalogue of a servient: {title: Thing Description}."""
    response = await AsyncHTTPClient().fetch(f"http://{host}:{port}/?expanded=1", request_timeout=timeout)
    return json.loads(response.body)


def _find(catalogue: dict, thing_id: str) -> dict | None:
    return next((td for td in catalogue.values() if td.get("id") == thing_id), None)


async def wait_node(
    host: str,
    thing_ids: tuple[str, ...] | list[str] = (),
    *,
    port: int = PORTS["catalogue"],
    timeout: float = 120.0,
    interval: float = 2.0,
) -> dict:
    """Poll a peer's catalogue until it answers and lists every id in `thing_ids`; return the catalogue."""
    deadline = time.monotonic() + timeout
    while True:
        problem = None
        try:
            catalogue = await fetch_catalogue(host, port, timeout=min(10.0, timeout))
            missing = [tid for tid in thing_ids if _find(catalogue, tid) is None]
            if not missing:
                return catalogue
            problem = f"Things not exposed yet: {', '.join(missing)}"
        except Exception as ex:  # connection refused, DNS not yet resolvable, HTTP errors, bad JSON
            problem = f"{type(ex).__name__}: {ex}"
        if time.monotonic() + interval > deadline:
            raise TimeoutError(f"{host}:{port}: not ready after {timeout:.0f} s ({problem})")
        log.debug("waiting for %s:%d: %s", host, port, problem)
        await asyncio.sleep(interval)


async def consume_thing(wot, host: str, thing_id: str, *, port: int = PORTS["catalogue"]):
    """A ConsumedThing for the Thing with id `thing_id` in the servient at `host`."""
    td = _find(await fetch_catalogue(host, port), thing_id)
    if td is None:
        raise LookupError(f"{host}:{port}: no Thing with id {thing_id!r} in the catalogue")
    return wot.consume(json.dumps(td))


def write_metric(writer, metric: str, value: float | None = None, **data) -> None:
    """Record an app-defined metric (`app` kind): a number and/or a free JSON object."""
    writer.write("app", metric=metric, value=value, data=data)


# EnvConfig fields of the 2021 WoTemu that have no meaning here, and why.
GONE = {
    "redis_url": "apps record through conf.write_metric; the store is the runtime's, not the app's",
    "docker_proxy_url": "no container sees the Docker API (least privilege)",
}


class AppConf(dict):
    """What an app receives as `conf`: the node's service config (a dict) plus its helpers."""

    def __init__(self, config: dict, writer):
        super().__init__(config)
        self.writer = writer
        # Per-replica randomness, reproducible from the experiment seed.
        slot = os.environ.get("WOTEMU_TASK_SLOT", "0")
        self.rng = random.Random(f"{config.get('seed', 0)}:{config.get('service', '')}:{slot}")

    def _port(self, protocol: str) -> int:
        return int(self.get("ports", {}).get(protocol, PORTS[protocol]))

    @property
    def catalogue_port(self) -> int:
        return self._port("catalogue")

    # The 2021 WoTemu's `EnvConfig` fields, so that apps written for it run unchanged.
    port_catalogue = catalogue_port
    port_http = property(lambda self: self._port("http"))
    port_ws = property(lambda self: self._port("ws"))
    port_coap = property(lambda self: self._port("coap"))
    port_mqtt = property(lambda self: self._port("mqtt"))
    other_ports_tcp = property(lambda self: list(self.get("extra_ports", {}).get("tcp", [])))
    other_ports_udp = property(lambda self: list(self.get("extra_ports", {}).get("udp", [])))

    @property
    def mqtt_broker_host(self) -> str | None:
        """The broker this node's MQTT binding uses (None: the node has no broker)."""
        return (self.get("broker") or {}).get("host")

    @property
    def mqtt_url(self) -> str | None:
        broker = self.get("broker")
        return f"mqtt://{broker['host']}:{broker['port']}" if broker else None

    def __getattr__(self, name: str):
        if name in GONE:
            raise AttributeError(f"conf.{name} is gone: {GONE[name]}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def write_metric(self, metric: str, value: float | None = None, **data) -> None:
        write_metric(self.writer, metric, value, **data)

    def _address(self, host: str) -> tuple[str, int]:
        """`host` or `host:port`; peers' catalogues are on this node's catalogue port by default."""
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
        return name, int(port) if port else self.catalogue_port

    async def wait_node(self, host: str, thing_ids=(), **kwargs) -> dict:
        name, port = self._address(host)
        return await wait_node(name, thing_ids, port=port, **kwargs)

    async def consume_thing(self, wot, host: str, thing_id: str):
        name, port = self._address(host)
        return await consume_thing(wot, name, thing_id, port=port)
