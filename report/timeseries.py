"""Time bucketing and counter differencing: how long series shrink to what a browser can draw."""

import numpy as np
import pandas as pd

# Bucket widths a reader can reason about ("per 10 s"), smallest first.
NICE_WIDTHS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


def bucket_width(duration_s: float, buckets: int) -> float:
    """The smallest nice width that cuts `duration_s` into at most `buckets` buckets."""
    for width in NICE_WIDTHS_S:
        if duration_s / width <= buckets:
            return float(width)
    return float(NICE_WIDTHS_S[-1])


def bucket(t: pd.Series, t0: float, width: float) -> pd.Series:
    """The start (Unix seconds) of the bucket of each time in t; buckets are aligned on t0."""
    return t0 + np.floor((t - t0) / width) * width


def to_ms(t) -> np.ndarray:
    """Unix seconds → milliseconds, what Bokeh's datetime axes take."""
    return np.asarray(t, dtype=float) * 1000.0


def counter_deltas(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Per-sample increments of cumulative counters, one counter per `keys` group.

    A counter's first sample counts from zero (the gateway starts counting when it starts). A
    sample lower than the one before means the counter restarted (a restarted gateway process):
    the increment is then the sample itself. A restarted Swarm task has a new task name, so it
    is a new group anyway.
    """
    frame = frame.sort_values([*keys, "t"], kind="stable")
    out = frame.copy()
    first = ~frame.duplicated(keys, keep="first").to_numpy()
    for column in columns:
        values = frame[column].to_numpy(dtype=float)
        delta = np.diff(values, prepend=0.0)
        reset = first | (delta < 0)
        out[column] = np.where(reset, values, delta)
    return out
