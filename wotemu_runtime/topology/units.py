"""Units in topology files: durations, rates, percentages and sizes.

Each parser accepts a number (in the field's base unit) or a string with a unit, and raises
ValueError with a message that says what would be valid.
"""

import math
import re

_NUMBER = r"(-?(?:\d+(?:\.\d+)?|\.\d+))"


def _parse(value, units: dict[str, float], what: str, example: str, bare: str | None) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected {what} such as {example!r}, got a boolean")
    if isinstance(value, int | float):
        if bare is None:
            raise ValueError(f"expected {what} with a unit such as {example!r}, got the bare number {value}")
        try:
            number = float(value)
        except OverflowError:
            raise ValueError(f"expected {what} such as {example!r}, got a number too large to use") from None
    elif isinstance(value, str):
        match = re.fullmatch(_NUMBER + r"\s*([a-zA-Z%]*)", value.strip())
        unit = match.group(2).lower() if match else None
        if not match or (unit not in units and not (unit == "" and bare)):
            valid = ", ".join(units)
            raise ValueError(f"expected {what} such as {example!r} (units: {valid}), got {value!r}")
        number = float(match.group(1)) * units.get(unit, 1.0)
    else:
        raise ValueError(f"expected {what} such as {example!r}, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError(f"expected {what} such as {example!r}, got a number too large to use")
    if number < 0:
        raise ValueError(f"expected a value of at least 0, got {value!r}")
    return number


def duration_ms(value) -> float:
    """'5ms', '1.5s', '300us' or a number of milliseconds."""
    return _parse(value, {"us": 0.001, "ms": 1.0, "s": 1000.0}, "a duration", "40ms", bare="ms")


def duration_s(value) -> float:
    """'90s', '2m', '1h' or a number of seconds."""
    return _parse(value, {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}, "a duration", "120s", bare="s")


def rate_bps(value) -> int:
    """'50kbit', '1.5mbit', '1gbit' or a number of bits per second."""
    units = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9}
    return round(_parse(value, units, "a rate", "15mbit", bare="bit/s"))


def percent(value) -> float:
    """'0.5%' or a number of percent, between 0 and 100."""
    number = _parse(value, {"%": 1.0}, "a percentage", "0.5%", bare="%")
    if number > 100:
        raise ValueError(f"expected a percentage between 0% and 100%, got {value!r}")
    return number


def size_bytes(value) -> int:
    """'150M', '1.5G', '512k' (powers of 1024, as Docker reads them) or a number of bytes."""
    units = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
    return round(_parse(value, units, "a size", "150M", bare="bytes"))
