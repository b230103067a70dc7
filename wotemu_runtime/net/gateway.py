"""The gateway role: shape one network's forwarded traffic, count it, announce readiness.

Order matters: the conditions are in place before the readiness key appears, so no node routes
through an unshaped gateway; on SIGTERM the key goes first, then the shaping.
"""

import hashlib
import logging
import signal
import threading
import time
import traceback

from wotemu_runtime.metrics.store import connect
from wotemu_runtime.metrics.system import start_system_metrics
from wotemu_runtime.net.counters import TrafficCounters
from wotemu_runtime.net.iptables import IptablesError
from wotemu_runtime.net.links import (
    Interface,
    NetworkSetupError,
    find_interface,
    prepare_forwarding,
    restore_forwarding,
)
from wotemu_runtime.net.netem import NetemShaper
from wotemu_runtime.net.partition import Partition
from wotemu_runtime.net.readiness import Announcer, ReadinessTimeout
from wotemu_runtime.net.scenario import ScenarioRunner
from wotemu_runtime.net.shaping import Shaper, ShaperError
from wotemu_runtime.net.userspace import UserspaceShaper

log = logging.getLogger(__name__)

TRAFFIC_PERIOD_S = 5.0
# Set-up problems with a message that says it all; anything else is logged with its traceback.
EXPECTED = (NetworkSetupError, ShaperError, IptablesError, ReadinessTimeout)
REDIS_TIMEOUT_S = 60.0  # how long the first announcement may wait for the stack's Redis


def choose_shaper(
    interface: Interface, seed: int | None, shaper: str = "auto", links: list[dict] = ()
) -> tuple[Shaper, str | None]:
    """The backend `shaper` asks for, and why not NetEm. auto: NetEm when the kernel accepts it on
    this interface and no access link needs per-replica shaping, else the userspace shaper."""
    if shaper == "userspace":
        return UserspaceShaper(interface, seed, links), "experiment.shaper is userspace"
    refused = NetemShaper.refusal(interface)
    if shaper == "netem" and refused is not None:
        raise ShaperError(f"`shaper: netem` is forced but {refused}; use `shaper: auto` or `userspace`")
    if shaper == "auto" and links and not NetemShaper.per_replica:
        refused = "access links need per-replica shaping, which only the userspace shaper does"
    if refused is None:
        return NetemShaper(interface, seed, links), None
    log.info("%s: using the userspace shaper", refused)
    return UserspaceShaper(interface, seed, links), refused


def seed_for(conditions: dict, experiment_seed: int | None, salt: str) -> int | None:
    """A 64-bit seed from the conditions' seed (else the experiment's) and this gateway; None: unseeded."""
    seed = conditions["seed"] if conditions["seed"] is not None else experiment_seed
    if seed is None:
        return None
    digest = hashlib.sha256(f"{seed}/{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def run_gateway(config: dict, writer, stop: threading.Event) -> None:
    """Shape until `stop` is set. Raises on any set-up error, having undone what it had done."""
    network = config["network"]
    conditions = config["netem"]  # canonical and complete: load_service_config checked it
    interface = find_interface(config["subnet"])
    prepare_forwarding(interface)
    seed = seed_for(conditions, config["seed"], salt=config["service"])
    shaper, probe = choose_shaper(interface, seed, config["shaper"], config["links"])
    counters = TrafficCounters(interface.name, config)
    partition = Partition(interface.name)
    scenario = ScenarioRunner(config, shaper, partition, writer)
    announcer = sampler = None
    try:
        partition.install()
        counters.install()
        shaper.apply(scenario.due_now())
        log.info("shaping %s on %s (%s) with %s", network, interface.name, interface.address, shaper.backend)
        sampler = start_system_metrics(
            writer,
            config,
            role="gateway",
            network=network,
            backend=shaper.backend,
            unhonoured=shaper.unhonoured,
            netem=conditions,
            interface=interface.name,
            address=interface.address,
            probe=probe,
        )
        announcer = Announcer(connect(config), config, network, interface.address, shaper.backend)
        announcer.start(REDIS_TIMEOUT_S)
        writer.write("lifecycle", event="ready", detail=f"{shaper.backend} on {interface.name}")
        scenario.start(stop)
        while not stop.wait(TRAFFIC_PERIOD_S):
            _sample(counters, shaper, writer, network)
    finally:
        stop.set()  # also after an error: the scenario applies nothing more
        scenario.join()
        if announcer:  # it ran: withdraw, then record the last counts so the end of the run is covered
            announcer.stop()
            _sample(counters, shaper, writer, network)
        if sampler:
            sampler.stop()
        shaper.close()
        counters.remove()
        partition.remove()
        restore_forwarding()


def _sample(counters: TrafficCounters, shaper: Shaper, writer, network: str) -> None:
    """What was offered to the gateway (the firewall's counts), then what its shaper let out."""
    for (protocol, direction), (packets, size) in counters.read().items():
        writer.write(
            "traffic", network=network, protocol=protocol, direction=direction, packets=packets, bytes=size
        )
    writer.write("shaping", network=network, backend=shaper.backend, **shaper.counters())


def main(config: dict) -> int:
    """Entry point of `wotemu gateway`: 0 after SIGTERM/SIGINT, 1 on error (with a lifecycle record)."""
    from wotemu_runtime.metrics.writer import MetricsWriter

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    writer = MetricsWriter(config)
    writer.write("lifecycle", event="start", detail=f"gateway of {config.get('network')}")
    try:
        run_gateway(config, writer, stop)
    except EXPECTED as ex:
        log.error("gateway failed: %s", ex)
        writer.write("lifecycle", event="error", detail=traceback.format_exc())
        return 1
    except Exception:
        log.exception("gateway failed")
        writer.write("lifecycle", event="error", detail=traceback.format_exc())
        return 1
    finally:
        writer.write("lifecycle", event="exit", detail=f"t={time.time():.3f}")
        writer.close()
    return 0
