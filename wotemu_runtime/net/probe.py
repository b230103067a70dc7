"""Fidelity probes: round trips across each network, on the path the apps' packets take.

Every node answers UDP echoes on the probe port (contract.ports: marked and routed through its
networks' gateways like any app port, and counted by the gateways as protocol `probe`). One node
task per network and round holds that network's lease in Redis and sends paced echo requests to
another task on the network, so each request and each echo crosses the gateway once, as an
app's request and reply do. The first round runs before the prober's own app starts; then one
round per period, by whichever task takes the expired lease first, so a killed prober costs no
round. What a round measured is a `probes` record; judging it against the configured conditions
happens when run.json is written (control/probes.py), against the conditions the stack was given.

Each direction has its own one-way delay too (an access link's up and down differ): the request
carries its send time, and the echo its peer's receipt and reply times, all from the wall clock,
receipts as the kernel stamped them. They are one clock only when prober and peer share a swarm
node, which the record says (`host`, `peer_host`). The round trip is the network's: the echo's
arrival less the request's send on the prober's clock, less the peer's turnaround (its reply less
its receipt) on the peer's, so it needs no shared clock, and neither end's scheduling counts (a
node's app holds the responder's thread up by a millisecond or more: that is not the network).
"""

import contextlib
import json
import logging
import os
import select
import socket
import struct
import threading
import time

import redis

from wotemu_runtime.config import task_name
from wotemu_runtime.contract import keys
from wotemu_runtime.contract.ports import PORTS

log = logging.getLogger(__name__)

# Sequence number, then wall-clock ns: the request's send, the peer's receipt and the peer's reply;
# the responder fills in the last two.
PAYLOAD = struct.Struct("!QQQQ")
STAMPS = struct.Struct("!QQ")  # the responder's part: the last 16 bytes
PACKET_BYTES = 20 + 8 + PAYLOAD.size  # the IP packet of one request: IPv4 and UDP headers, payload
# The kernel's receipt time of each datagram (Linux SO_TIMESTAMPNS; Python's socket module does not
# name it): a busy process reads its socket late, and that delay must not count as the network's.
SO_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@qq")
ANCILLARY = socket.CMSG_SPACE(TIMESPEC.size)
MIN_INTERVAL_S = 0.01  # at most 100 requests a second
RATE_SHARE = 0.02  # and never more than 2 % of a network's configured rate
MAX_ROUND_S = 10.0  # a round sends for 10 s at most, whatever the pacing
DRAIN_MIN_S = 2.0  # after the last request, wait for echoes this long at least (3 times the slowest seen)
TICKS_PER_PERIOD = 4  # a node tries the lease four times a period: rounds stay about a period apart


def interval_s(rate_bps: int | None) -> float:
    """Time between requests: both directions together stay under RATE_SHARE of the rate."""
    if not rate_bps:
        return MIN_INTERVAL_S
    return max(MIN_INTERVAL_S, 2 * PACKET_BYTES * 8 / (RATE_SHARE * rate_bps))


def timestamped_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return sock


def receive(sock: socket.socket) -> tuple[bytes, int, tuple]:
    """A datagram, the wall-clock ns the kernel received it at, and its sender."""
    data, ancillary, _, sender = sock.recvmsg(2048, ANCILLARY)
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(value)
            return data, seconds * 1_000_000_000 + nanoseconds, sender
    return data, time.time_ns(), sender


class Responder:
    """Echoes every datagram on the probe port back to its sender, from a thread, until close();
    a probe request with its receipt and reply times filled in."""

    def __init__(self):
        self.sock = timestamped_socket()
        self.sock.bind(("0.0.0.0", PORTS["probe"]))
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe-responder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                data, received, sender = receive(self.sock)
                if self._closing.is_set():
                    return
                if len(data) == PAYLOAD.size:
                    data = data[: -STAMPS.size] + STAMPS.pack(received, time.time_ns())
                self.sock.sendto(data, sender)
            except OSError:  # shut down
                return

    def close(self) -> None:
        """Ends the thread, then frees the port. A socket closed under a thread blocked in recvmsg
        stays bound until that call returns (the kernel holds the file), so reading is shut down
        first: that wakes the thread even on an unconnected socket (which answers ENOTCONN)."""
        self._closing.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self.sock.close()


def measure(
    source: str, peer: str, packets: int, interval: float, stop: threading.Event
) -> tuple[int, list[tuple[float, float, float]]]:
    """Send up to `packets` paced echo requests from `source` to `peer`; (sent, the answered
    requests' (round trip, forward, back) in ms). Forward and back are wall-clock differences
    across two processes, from each send to the kernel's receipt (neither end's scheduling delay
    counts): one-way delays when both run on one host. The round trip is their sum computed on
    each end's own clock (see the module's docstring): right across hosts too.

    Each request's first echo counts (duplicates are left out); the list is in send order. Ends
    early when `stop` is set (the node is stopping)."""
    packets = min(packets, max(1, int(MAX_ROUND_S / interval)))
    answers: dict[int, tuple[float, float, float]] = {}
    with timestamped_socket() as sock:
        sock.bind((source, 0))
        start = time.monotonic()
        sent = 0
        deadline = None
        while (deadline is None or time.monotonic() < deadline) and not stop.is_set():
            now = time.monotonic()
            if sent < packets and now >= start + sent * interval:
                request = PAYLOAD.pack(sent, time.time_ns(), 0, 0)
                sock.sendto(request, (peer, PORTS["probe"]))
                sent += 1
                if sent == packets:
                    deadline = time.monotonic() + DRAIN_MIN_S
                continue
            wake = start + sent * interval if sent < packets else deadline
            if select.select([sock], [], [], max(0.0, wake - now))[0]:
                data, arrived_wall, _ = receive(sock)
                if len(data) == PAYLOAD.size:
                    seq, sent_wall, received_wall, replied_wall = PAYLOAD.unpack(data)
                    forward = (received_wall - sent_wall) / 1e6
                    back = (arrived_wall - replied_wall) / 1e6
                    answers.setdefault(seq, (forward + back, forward, back))
                    if deadline is not None:  # stragglers: wait 3 times the slowest round trip seen
                        slowest = max(answer[0] for answer in answers.values())
                        deadline = max(deadline, time.monotonic() + 3 * slowest / 1e3)
                if sent == packets and len(answers) == sent:
                    break
    return sent, [answers[seq] for seq in sorted(answers)]


class Probes:
    """The probe side of one node task: its responder, its peer entries and its rounds."""

    def __init__(self, config: dict, client: redis.Redis, writer, addresses: dict[str, str]):
        self.config, self.client, self.writer = config, client, writer
        self.addresses = addresses  # network -> this task's address on it
        self.intervals = {net["name"]: interval_s(net.get("rate_bps")) for net in config["networks"]}
        self.period = config["probes"]["period_s"]
        self.tick = self.period / TICKS_PER_PERIOD
        self.packets = config["probes"]["packets"]
        self.task = task_name()
        self.host = os.environ.get("WOTEMU_SWARM_NODE")  # the stack sets it: the swarm node's hostname
        self.responder = Responder()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probes", daemon=True)

    def start(self) -> None:
        """Offer this task as a peer, run the first round where this task takes the lease, then go on."""
        self._attempt_all()
        if self.period:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self._attempt_all()

    def _attempt_all(self) -> None:
        for network in self.addresses:
            try:
                self._offer(network)
                self._attempt(network)
            except (redis.RedisError, OSError) as ex:  # the store may restart: skip this round
                log.warning("probe of %s skipped: %s", network, ex)

    def _offer(self, network: str) -> None:
        entry = json.dumps({"address": self.addresses[network], "host": self.host, "t": time.time()})
        self.client.hset(keys.probe_peers(self.config["run_id"], network), self.task, entry)

    def _peers(self, network: str) -> list[tuple[str, dict]]:
        """(task, its entry: address, host, offered at `t`) of the other tasks offering on `network`,
        most recent first."""
        fresh_after = time.time() - (3 * self.tick if self.period else float("inf"))
        entries = self.client.hgetall(keys.probe_peers(self.config["run_id"], network))
        found = []
        for task, raw in entries.items():
            entry = json.loads(raw)
            if task.decode() != self.task and entry["t"] >= fresh_after:
                found.append((task.decode(), entry))
        return sorted(found, key=lambda peer: peer[1]["t"], reverse=True)

    def _gone(self, network: str, task: str, offered: float) -> bool:
        """Whether `task` stopped offering itself: a live task refreshes its entry every tick (through
        Redis, off the shaped path), so a peer that answered nothing is told from a network that
        lost everything. Without periodic rounds nothing refreshes: then it counts as there."""
        deadline = time.time() + self.tick + 1.0
        while self.period and time.time() < deadline and not self._stop.is_set():
            raw = self.client.hget(keys.probe_peers(self.config["run_id"], network), task)
            if raw is None:
                return True
            if json.loads(raw)["t"] > offered:
                return False
            self._stop.wait(0.5)
        return bool(self.period)

    def _attempt(self, network: str) -> None:
        lease = keys.probe_lease(self.config["run_id"], network)
        # The lease lasts one period: the task that takes it runs this period's round.
        if not self.client.set(
            lease, self.task, nx=True, ex=max(1, round(self.period)) if self.period else None
        ):
            return
        interval = self.intervals[network]
        for task, peer in self._peers(network):
            began = time.monotonic()
            sent, answers = measure(
                self.addresses[network], peer["address"], self.packets, interval, self._stop
            )
            if answers or not self._gone(network, task, peer["t"]):
                break
            # Killed since it last offered: its silence says nothing about the network.
            self.client.hdel(keys.probe_peers(self.config["run_id"], network), task)
        else:  # no peer (the first task on the network: the next one to come probes it)
            self.client.delete(lease)
            return
        number = self.client.incr(keys.probe_rounds(self.config["run_id"], network))
        self.writer.write(  # at the round's start: what it measured is the network from then on
            "probes",
            ago_s=time.monotonic() - began,
            network=network,
            round=number,
            peer=task,
            sent=sent,
            received=len(answers),
            bytes_sent=sent * PACKET_BYTES,
            packet_bytes=PACKET_BYTES,
            interval_s=interval,
            host=self.host,
            peer_host=peer.get("host"),
            **{
                name: [round(answer[i], 4) for answer in answers]
                for i, name in enumerate(("rtt_ms", "forward_ms", "back_ms"))
            },
        )
        log.info("probe round %d of %s with %s: %d/%d answered", number, network, task, len(answers), sent)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)  # a round in flight ends at its next wake-up (≤ one interval)
        self.responder.close()
        try:
            for network in self.addresses:
                self.client.hdel(keys.probe_peers(self.config["run_id"], network), self.task)
        except redis.RedisError as ex:
            log.warning("cannot withdraw from the probe peers: %s", ex)
