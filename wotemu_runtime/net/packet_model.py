"""netem's packet model: what sch_netem decides for each packet, in Python.

`PacketModel` reproduces sch_netem's per-packet decisions (net/sched/sch_netem.c, Linux 6.1):
the same correlated random numbers, the same delay distribution tables (iproute2's `.dist`
files), the same loss models and the same rate arithmetic. The userspace shaper uses it, so both
backends mean the same thing by every parameter.
"""

import random

from wotemu_runtime.net.distributions import DIST_SCALE

ETHERNET_HEADER = 14  # qdiscs count the MAC header: the shaper accounts IP packets the same way
U32 = 2**32


def u32(pct: float) -> int:
    """A percentage as netem's 32-bit probability."""
    return min(U32 - 1, round(pct / 100 * (U32 - 1)))


class _Correlated:
    """netem's get_crandom(): each draw leans towards the previous one by `rho`."""

    def __init__(self, rng: random.Random, pct: float):
        self.rng, self.rho, self.last = rng, u32(pct), 0

    def __call__(self) -> int:
        value = self.rng.getrandbits(32)
        if not self.rho:
            return value
        rho = self.rho + 1
        self.last = (value * (U32 - rho) + self.last * rho) >> 32
        return self.last


class PacketModel:
    """Per packet: drop it, or when to release it (and a duplicate's release), as sch_netem would."""

    def __init__(self, conditions: dict, seed: int | None, table: list[int] | None):
        self.c = conditions
        self.rng = random.Random(seed)
        self.table = table
        self.latency_ns = round(conditions["delay_ms"] * 1e6)
        self.jitter_ns = round(conditions["jitter_ms"] * 1e6)
        self.delay_rnd = _Correlated(self.rng, conditions["delay_correlation_pct"])
        self.reorder_rnd = _Correlated(self.rng, conditions["reorder_correlation_pct"])
        loss = conditions["loss"] or {"model": "random", "pct": 0.0, "correlation_pct": 0.0}
        self.loss = loss
        self.loss_rnd = _Correlated(self.rng, loss.get("correlation_pct", 0.0))
        self.ge_bad = False
        self.last_send_ns = 0  # release time of the latest packet queued (netem's tfifo tail)

    def lost(self) -> bool:
        if self.loss["model"] == "random":
            threshold = u32(self.loss["pct"])
            return threshold > 0 and threshold >= self.loss_rnd()
        # Gilbert-Elliott as loss_gilb_ell(): p = good->bad, r = bad->good,
        # 1-h = loss in the bad state, 1-k = loss in the good state.
        rnd = self.rng.getrandbits
        if not self.ge_bad:
            self.ge_bad = rnd(32) < u32(self.loss["p_pct"])
            return rnd(32) < u32(100 - self.loss["k_pct"])
        self.ge_bad = not rnd(32) < u32(self.loss["r_pct"])
        return rnd(32) > u32(self.loss["h_pct"])

    def delay_ns(self) -> int:
        """tabledist(): latency plus jitter drawn from the table (uniform without one)."""
        mu, sigma = self.latency_ns, self.jitter_ns
        if not sigma:
            return mu
        rnd = self.delay_rnd()
        if self.table is None:
            return rnd % (2 * sigma) + mu - sigma
        t = self.table[rnd % len(self.table)]
        x = (sigma % DIST_SCALE) * t
        x = x + DIST_SCALE // 2 if x >= 0 else x - DIST_SCALE // 2
        return int(x / DIST_SCALE) + (sigma // DIST_SCALE) * t + mu

    def schedule(self, now_ns: int, ip_length: int, queued: int) -> list[int]:
        """Release times (ns, same clock as now_ns) for one packet: [] = dropped, two = duplicated."""
        if queued >= self.c["limit_packets"] or self.lost():
            return []
        copies = (
            2 if self.c["duplicate_pct"] and u32(self.c["duplicate_pct"]) >= self.rng.getrandbits(32) else 1
        )
        reorder = self.c["reorder_pct"] and u32(self.c["reorder_pct"]) >= self.reorder_rnd()
        if reorder:
            # netem sends a reordered packet at once, ahead of the delayed ones (gap 1).
            return [now_ns] * copies
        send = now_ns + max(0, self.delay_ns())
        if self.c["rate_bps"]:
            # Serialise behind the queue's tail: the link is busy until the previous release.
            wire_bits = (ip_length + ETHERNET_HEADER) * 8
            send = max(self.last_send_ns, send) + round(wire_bits * 1e9 / self.c["rate_bps"])
        self.last_send_ns = max(self.last_send_ns, send)
        return [send] * copies
