"""The userspace backend: forwarded packets wait in NFQUEUE until their release time.

For kernels without sch_netem. iptables hands every packet the gateway forwards on its network
to a netfilter queue; one thread reads the queue, asks `PacketModel` (netem's own per-packet
arithmetic) when each packet may leave, and gives the verdicts in that order. Held packets stay in
the kernel (only their ids are in this process), so a slow Python costs latency, not memory.
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

from netfilterqueue import NetfilterQueue

from wotemu_runtime.net.distributions import load_table
from wotemu_runtime.net.iptables import delete_rule, iptables
from wotemu_runtime.net.links import Interface
from wotemu_runtime.net.packet_model import PacketModel
from wotemu_runtime.net.shaping import Shaper, ShaperError

log = logging.getLogger(__name__)

QUEUE_NUM = 0  # queue numbers are per network namespace: one gateway per container
PR_SET_TIMERSLACK = 29
IDLE_WAIT_S = 0.2  # how long the loop sleeps when nothing is held (it wakes on new packets anyway)


class UserspaceShaper(Shaper):
    backend = "userspace"

    def __init__(self, interface: Interface, seed: int | None):
        super().__init__(interface, seed)
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
        self._queue = NetfilterQueue()
        self._held: list = []  # heap of (release ns, sequence, packet, duplicate payload or None)
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
        self._thread.start()
        iptables("-A", *self.rule)

    def update(self, conditions: dict) -> None:
        """A new model for the packets to come; those held keep the release times they were given."""
        # Corrupting would mean rewriting payloads in flight; the shaper only reorders verdicts.
        self.unhonoured = ["corrupt_pct"] if conditions["corrupt_pct"] else []
        if self.unhonoured:
            log.warning("the userspace shaper cannot honour: %s", ", ".join(self.unhonoured))
        if conditions["duplicate_pct"] and self._raw is None:
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
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            for _, _, packet, _ in self._held:  # what is still held leaves now rather than being lost
                packet.accept()
            self._queue.unbind()
        if self._raw:
            self._raw.close()

    def _on_packet(self, packet) -> None:
        length = packet.get_payload_len()
        times = self.model.schedule(time.monotonic_ns(), length, len(self._held))
        if not times:
            packet.drop()
            self._dropped += 1
            return
        duplicate = packet.get_payload() if len(times) > 1 else None
        heapq.heappush(self._held, (times[0], next(self._seq), packet, duplicate))

    def _run(self) -> None:
        # Wake up on time: no timer slack for this thread (default 50 µs), and other threads of the
        # gateway (counters, Redis writer) give the interpreter back after 0.2 ms instead of 5 ms.
        ctypes.CDLL(None).prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(1), 0, 0, 0)
        sys.setswitchinterval(0.0002)
        fd = self._queue.get_fd()
        while not self._stop.is_set():
            wait = IDLE_WAIT_S
            if self._held:
                wait = max(0.0, (self._held[0][0] - time.monotonic_ns()) / 1e9)
            if select.select([fd], [], [], wait)[0]:
                self._queue.run(block=False)  # reads everything pending, calling _on_packet
            now = time.monotonic_ns()
            while self._held and self._held[0][0] <= now:
                _, _, packet, duplicate = heapq.heappop(self._held)
                self._passed += 1
                self._passed_bytes += packet.get_payload_len()
                packet.accept()
                if duplicate is not None:
                    self._raw.sendto(duplicate, (socket.inet_ntoa(duplicate[16:20]), 0))
                    self._passed += 1
                    self._passed_bytes += len(duplicate)
