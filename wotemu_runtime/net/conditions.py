"""The canonical network conditions (design §8.2): their defaults, their checks, and the shaping seed."""

import hashlib

from wotemu_runtime.net.distributions import DISTRIBUTIONS


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


def seed_for(conditions: dict, experiment_seed: int | None, salt: str) -> int | None:
    """A 64-bit seed from the conditions' seed (else the experiment's) and this gateway; None: unseeded."""
    seed = conditions["seed"] if conditions["seed"] is not None else experiment_seed
    if seed is None:
        return None
    digest = hashlib.sha256(f"{seed}/{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
