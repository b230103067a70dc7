"""The Redis handshake between gateways and nodes (design §8.3).

A gateway sets `wotemu:<run_id>:gw:<network>` = {"address", "backend", "t"} once its shaping is in
place and refreshes it; the key expires if the gateway dies, so a stale address cannot outlive it
by more than EXPIRY_S. Nodes wait for the keys of their networks before routing through them.
"""

import json
import logging
import threading
import time

import redis

from wotemu_runtime.contract import keys

log = logging.getLogger(__name__)

EXPIRY_S = 15
REFRESH_S = 5


class ReadinessTimeout(Exception):
    """A gateway did not announce itself in time."""


def gateway_key(config: dict, network: str) -> str:
    return keys.gateway(config["run_id"], network)


class Announcer:
    """Keeps the gateway's key alive from a thread until stop() deletes it."""

    def __init__(self, client: redis.Redis, config: dict, network: str, address: str, backend: str):
        self.client, self.key = client, gateway_key(config, network)
        self.value = {"address": address, "backend": backend}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-announcer", daemon=True)

    def start(self, timeout: float) -> None:
        """Announce once (retrying until `timeout`: Redis may start after us), then keep refreshing."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._announce()
                break
            except redis.RedisError as ex:
                if time.monotonic() > deadline:
                    raise ReadinessTimeout(
                        f"could not announce {self.key} to Redis within {timeout:.0f} s: {ex}"
                    ) from ex
                time.sleep(1)
        self._thread.start()

    def _announce(self) -> None:
        self.client.set(self.key, json.dumps({**self.value, "t": time.time()}), ex=EXPIRY_S)

    def _run(self) -> None:
        while not self._stop.wait(REFRESH_S):
            try:
                self._announce()
            except redis.RedisError as ex:
                log.warning("cannot refresh %s (Redis unreachable: %s); retrying", self.key, ex)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.client.delete(self.key)  # stop attracting traffic we no longer shape
        except redis.RedisError as ex:
            log.warning("cannot withdraw %s: %s (it expires in %d s)", self.key, ex, EXPIRY_S)


def read_gateway(client: redis.Redis, config: dict, network: str) -> dict | None:
    value = client.get(gateway_key(config, network))
    return json.loads(value) if value else None


def wait_for_gateways(
    client: redis.Redis, config: dict, networks: list[str], timeout: float
) -> dict[str, dict]:
    """{network: announcement} once every network's gateway is shaping; ReadinessTimeout otherwise."""
    deadline = time.monotonic() + timeout
    found: dict[str, dict] = {}
    while True:
        for network in networks:
            if network not in found:
                try:
                    announcement = read_gateway(client, config, network)
                except redis.RedisError as ex:
                    log.info("waiting for Redis: %s", ex)
                    announcement = None
                if announcement:
                    found[network] = announcement
        missing = [network for network in networks if network not in found]
        if not missing:
            return found
        if time.monotonic() > deadline:
            raise ReadinessTimeout(
                f"no gateway ready within {timeout:.0f} s for network(s) {', '.join(missing)} "
                f"(waiting for Redis keys {', '.join(gateway_key(config, n) for n in missing)})"
            )
        time.sleep(0.5)
