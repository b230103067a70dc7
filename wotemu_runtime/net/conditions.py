"""The canonical network conditions (design §8.2): validation, and netem's packet model.

`PacketModel` reproduces sch_netem's per-packet decisions (net/sched/sch_netem.c, Linux 6.1):
the same correlated random numbers, the same delay distribution tables (iproute2's `.dist`
files), the same loss models and the same rate arithmetic. The userspace shaper uses it, so both
backends mean the same thing by every parameter.
"""

import hashlib
import os
import random
from pathlib import Path

DISTRIBUTIONS = ("normal", "pareto", "paretonormal", "uniform")
DIST_SCALE = 8192  # NETEM_DIST_SCALE: table entries are deviations in units of sigma/8192
# Where iproute2 installs its tables on Debian/Ubuntu, Fedora and from source; $TC_LIB_DIR first.
_TABLE_DIRS = (
    "/usr/lib/x86_64-linux-gnu/tc",
    "/usr/lib/aarch64-linux-gnu/tc",
    "/usr/lib64/tc",
    "/usr/lib/tc",
)
ETHERNET_HEADER = 14  # qdiscs count the MAC header: the shaper accounts IP packets the same way
U32 = 2**32


class ConditionsError(Exception):
    """The conditions are malformed (the topology model should never let this through)."""


# No conditions at all: what every key of docs/design.md §8.2 means when it is left out.
DEFAULTS = {
    "delay_ms": 0.0,
    "jitter_ms": 0.0,
    "distribution": "normal",
    "delay_correlation_pct": 0.0,
    "loss": None,
    "duplicate_pct": 0.0,
    "corrupt_pct": 0.0,
    "reorder_pct": 0.0,
    "reorder_correlation_pct": 0.0,
    "rate_bps": None,
    "limit_packets": 1000,
    "seed": None,
}


def validate(netem: dict) -> dict:
    """Check the canonical dict and return it with defaults filled in."""
    conditions = {**DEFAULTS, **(netem or {})}
    unknown = set(conditions) - {
        "delay_ms",
        "jitter_ms",
        "distribution",
        "delay_correlation_pct",
        "loss",
        "duplicate_pct",
        "corrupt_pct",
        "reorder_pct",
        "reorder_correlation_pct",
        "rate_bps",
        "limit_packets",
        "seed",
    }
    if unknown:
        raise ConditionsError(f"netem: unknown keys {sorted(unknown)}")
    for name in ("delay_ms", "jitter_ms"):
        _number(conditions, name, 0, None)
    for name in (
        "delay_correlation_pct",
        "duplicate_pct",
        "corrupt_pct",
        "reorder_pct",
        "reorder_correlation_pct",
    ):
        _number(conditions, name, 0, 100)
    if conditions["distribution"] not in DISTRIBUTIONS:
        raise ConditionsError(
            f"netem.distribution: {conditions['distribution']!r} is not one of {DISTRIBUTIONS}"
        )
    if conditions["rate_bps"] is not None:
        _number(conditions, "rate_bps", 1, None)
    _number(conditions, "limit_packets", 1, None)
    loss = conditions["loss"]
    if loss is not None:
        fields = {"random": ("pct", "correlation_pct"), "gemodel": ("p_pct", "r_pct", "h_pct", "k_pct")}
        if not isinstance(loss, dict) or loss.get("model") not in fields:
            raise ConditionsError(f"netem.loss: {loss!r} is not null or a loss model {sorted(fields)}")
        if set(loss) != {"model", *fields[loss["model"]]}:
            raise ConditionsError(f"netem.loss: a {loss['model']} loss has exactly {fields[loss['model']]}")
        for name in fields[loss["model"]]:
            _number(loss, name, 0, 100, prefix="netem.loss.")
    return conditions


def _number(data: dict, name: str, low: float, high: float | None, prefix: str = "netem.") -> None:
    value = data[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < low
        or (high and value > high)
    ):
        bound = f"between {low} and {high}" if high else f"a number ≥ {low}"
        raise ConditionsError(f"{prefix}{name}: {value!r} is not {bound}")


def u32(pct: float) -> int:
    """A percentage as netem's 32-bit probability."""
    return min(U32 - 1, round(pct / 100 * (U32 - 1)))


def seed_for(conditions: dict, experiment_seed: int | None, salt: str) -> int | None:
    """A 64-bit seed from the conditions' seed (else the experiment's) and this gateway; None: unseeded."""
    seed = conditions["seed"] if conditions["seed"] is not None else experiment_seed
    if seed is None:
        return None
    digest = hashlib.sha256(f"{seed}/{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def load_table(distribution: str) -> list[int] | None:
    """iproute2's table for `distribution`; None for uniform. FileNotFoundError if iproute2's are missing."""
    if distribution == "uniform":
        return None
    dirs = [os.environ["TC_LIB_DIR"]] if os.environ.get("TC_LIB_DIR") else []
    for directory in [*dirs, *_TABLE_DIRS]:
        path = Path(directory, f"{distribution}.dist")
        if path.exists():
            lines = (line.split("#")[0] for line in path.read_text().splitlines())
            return [int(value) for line in lines for value in line.split()]
    raise FileNotFoundError(f"no {distribution}.dist from iproute2 in {', '.join([*dirs, *_TABLE_DIRS])}")


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
