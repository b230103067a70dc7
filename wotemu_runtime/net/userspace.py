"""The userspace backend: forwarded packets wait in NFQUEUE until their release time.

For kernels without sch_netem. iptables hands every packet the gateway forwards on its network
to a netfilter queue; one thread reads the queue, asks `PacketModel` (netem's own per-packet
arithmetic) when each packet may leave, and gives the verdicts in that order. Held packets stay in
the kernel (only their ids are in this process), so a slow Python costs latency, not memory.

With access links a packet crosses up to three stages, each a `PacketModel` with its own queue:
its sender's uplink (keyed by the source address), the network's shared model, then its
receiver's downlink (keyed by the destination address). A packet enters a stage at the time it
left the previous one, so delays add, rates apply in series and losses compose, and one
replica's full uplink delays only its own packets.
"""

import ctypes
import heapq
import itertools
import logging
import select
import socket
import sys
import threading
import time
from collections import Counter

from wotemu_runtime.net.access_links import AccessLinks
from wotemu_runtime.net.distributions import load_table
from wotemu_runtime.net.iptables import delete_rule, iptables
from wotemu_runtime.net.links import Interface
from wotemu_runtime.net.nfqueue import NfQueue
from wotemu_runtime.net.packet_model import PacketModel
from wotemu_runtime.net.shaping import Shaper, ShaperError

log = logging.getLogger(__name__)

QUEUE_NUM = 0  # queue numbers are per network namespace: one gateway per container
PR_SET_TIMERSLACK = 29
IDLE_WAIT_S = 0.2  # how long the loop sleeps when nothing is held (it wakes on new packets anyway)
# The loop wakes this long before a release and polls until it is due: a timer's wake-up comes
# 0.1-0.3 ms late on a busy host, and every crossing of every packet would add it to the delay.
SPIN_S = 0.0003
NETWORK = "network"  # the stage of the network's own model (the one in force when a packet enters it)


class UserspaceShaper(Shaper):
    backend = "userspace"
    per_replica = True

    def __init__(self, interface: Interface, seed: int | None, links: list[dict] = ()):
        super().__init__(interface, seed, links)
        self.access = AccessLinks(self.links, seed)
        self.rule = (
            "FORWARD",
            "-i",
            interface.name,
            "-o",
            interface.name,
            "-j",
            "NFQUEUE",
            "--queue-num",
            str(QUEUE_NUM),
        )
        self._queue = NfQueue()
        # heap of (release ns, sequence, packet, duplicate payload or None, stage, stages after it)
        self._held: list = []
        self._in_stage: Counter = Counter()  # packets held per stage: each queue's own limit
        self._seq = itertools.count()
        self._raw = None
        self._passed = self._passed_bytes = self._dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="userspace-shaper", daemon=True)

    @classmethod
    def refusal(cls, interface: Interface) -> str | None:
        return None  # the fallback: whether NFQUEUE can be bound shows in apply()

    def apply(self, conditions: dict) -> None:
        self.update(conditions)
        try:
            # The kernel queue must hold what netem's limit would: packets wait there, not here.
            self._queue.bind(QUEUE_NUM, self._on_packet, max_len=max(1024, conditions["limit_packets"] * 2))
        except OSError as ex:
            raise ShaperError(
                f"cannot bind NFQUEUE {QUEUE_NUM} ({ex}): nfnetlink_queue missing, no CAP_NET_ADMIN, "
                "or another shaper holds the queue in this network namespace"
            ) from ex
        self.access.start()
        self._thread.start()
        iptables("-A", *self.rule)

    def update(self, conditions: dict) -> None:
        """A new model for the packets to come; those held keep the release times they were given."""
        # Corrupting would mean rewriting payloads in flight; the shaper only reorders verdicts.
        links = [link[direction] for link in self.links for direction in ("up", "down")]
        corrupting = any(c["corrupt_pct"] for c in (conditions, *links))
        self.unhonoured = ["corrupt_pct"] if corrupting else []
        if self.unhonoured:
            log.warning("the userspace shaper cannot honour: %s", ", ".join(self.unhonoured))
        if any(c["duplicate_pct"] for c in (conditions, *links)) and self._raw is None:
            # Duplicates are re-sent as raw IP packets: they leave through OUTPUT, so are not queued again.
            self._raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        # One assignment: the shaper thread sees the old model or the new one, never a mix.
        self.model = PacketModel(conditions, self.seed, load_table(conditions["distribution"]))

    def counters(self) -> dict[str, int]:
        return {
            "packets": self._passed,
            "bytes": self._passed_bytes,
            "dropped": self._dropped,
            "queued": len(self._held),
        }

    def close(self) -> None:
        delete_rule(*self.rule)
        self.access.stop()
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            for _, _, packet, *_ in self._held:  # what is still held leaves now rather than being lost
                packet.accept()
            self._queue.unbind()
        if self._raw:
            self._raw.close()

    def _stages(self, packet) -> list:
        """The models it crosses in order: its sender's uplink, the network, its receiver's downlink."""
        models = self.access.models
        if not models:
            return [NETWORK]
        header = packet.get_payload()[:20]
        sender = models.get(socket.inet_ntoa(header[12:16]))
        receiver = models.get(socket.inet_ntoa(header[16:20]))
        return [stage for stage in (sender and sender[0], NETWORK, receiver and receiver[1]) if stage]

    def _on_packet(self, packet) -> None:
        self._enter(time.monotonic_ns(), packet, None, self._stages(packet))

    def _enter(self, now_ns: int, packet, duplicate, stages: list) -> None:
        """The packet enters the first of `stages` at `now_ns`: held until it leaves, or dropped."""
        stage, rest = stages[0], stages[1:]
        model = self.model if stage == NETWORK else stage
        times = model.schedule(now_ns, packet.get_payload_len(), self._in_stage[stage])
        if not times:
            packet.drop()
            self._dropped += 1
            return
        if len(times) > 1 and duplicate is None:
            duplicate = packet.get_payload()
        self._in_stage[stage] += 1
        heapq.heappush(self._held, (times[0], next(self._seq), packet, duplicate, stage, rest))

    def _run(self) -> None:
        # Wake up on time: no timer slack for this thread (default 50 µs), and other threads of the
        # gateway (counters, Redis writer) give the interpreter back after 0.2 ms instead of 5 ms.
        ctypes.CDLL(None).prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(1), 0, 0, 0)
        sys.setswitchinterval(0.0002)
        fd = self._queue.get_fd()
        while not self._stop.is_set():
            wait = IDLE_WAIT_S
            if self._held:
                wait = max(0.0, (self._held[0][0] - time.monotonic_ns()) / 1e9 - SPIN_S)
            if select.select([fd], [], [], wait)[0]:
                self._queue.run(block=False)  # reads everything pending, calling _on_packet
            now = time.monotonic_ns()
            while self._held and self._held[0][0] <= now:
                left, _, packet, duplicate, stage, rest = heapq.heappop(self._held)
                self._in_stage[stage] -= 1
                if rest:  # on to the next stage, entered when it left this one (not when we looked)
                    self._enter(left, packet, duplicate, rest)
                    continue
                self._passed += 1
                self._passed_bytes += packet.get_payload_len()
                packet.accept()
                if duplicate is not None:
                    self._raw.sendto(duplicate, (socket.inet_ntoa(duplicate[16:20]), 0))
                    self._passed += 1
                    self._passed_bytes += len(duplicate)
