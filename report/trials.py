"""Key figures of a run, and what they are across repeated trials and between designs.

A *design* is one results bundle (a directory with run.json) or a directory of trial bundles, one
per subdirectory. Every figure comes from a bundle alone: interaction latency percentiles and error
rates per verb and protocol and per verb over all protocols (consumer side; latencies of successful
calls only, as in the report), interactions per second, mean CPU and memory per service, bytes per
network, and per network and fidelity probe round: the measured one-way delay (median) and loss, as
the report's fidelity section shows them, and the 95th percentile of the round trips. A probe round
left out of the verdicts (run.json's `probes_left_out`: across a change of conditions, in a
partition, past the run's end) measured no one state of its network, so it is left out of these
too. The probe measures no rate (it is too light to fill one), so there is no goodput figure.

Across a design's trials a figure is the mean of its per-trial values, with its 95 % Student t
interval; between two designs, the difference of the means with its Welch t interval (the designs'
spreads may differ). t rather than a bootstrap: with the few trials a run affords (3 to 10), a
percentile bootstrap's interval is known to be too narrow (it holds the truth less often than it says).
Below MIN_TRIALS trials a design gets no interval: two values cannot say how much a third would
differ.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from report.bundle import Bundle, BundleError, load
from report.sections.fidelity import probe_rows
from report.sections.interactions import stats
from report.sections.traffic import increments

MIN_TRIALS = 3
LEVEL = 0.95
FIGURE_KEYS = ["figure", "key"]
# Lower is better for every figure but these (more work done per second is better).
HIGHER_IS_BETTER = {"interactions per s"}
# The judged probe rows' measured values that are figures, by parameter.
PROBE_MEASURES = {"delay_ms": "probe one-way delay p50 (ms)", "loss_pct": "probe loss (%)"}
PROBE_RTT_P95 = "probe RTT p95 (ms)"


@dataclass
class Design:
    """A design's trials: its label, its bundles, their figures and their consumer interactions."""

    label: str
    trials: list[Path]
    runs: list[dict]  # each trial's run.json
    figures: pd.DataFrame  # columns: trial, figure, key, value
    interactions: pd.DataFrame  # the consumer side's, every trial's (for distributions)


def bundle_dirs(path: Path) -> list[Path]:
    """The bundle itself, or the trial bundles under a trial-set directory (sorted by name)."""
    if (path / "run.json").is_file():
        return [path]
    trials = sorted(p for p in path.iterdir() if (p / "run.json").is_file()) if path.is_dir() else []
    if not trials:
        raise BundleError(f"{path}: neither a results bundle (no run.json) nor a directory of trial bundles")
    return trials


def consumer_side(bundle: Bundle) -> pd.DataFrame:
    return bundle.interactions[bundle.interactions["side"] == "consumer"]


def figures(bundle: Bundle) -> pd.DataFrame:
    """One row per figure of one run: figure, key, value."""
    rows = []
    consumer = consumer_side(bundle)
    if not consumer.empty:
        # Per verb and protocol, and per verb whatever the protocol: designs that differ in their
        # protocols (HTTP against CoAP) still compare their reads.
        per_call = pd.concat(
            [stats(consumer, ["verb", "protocol"]), stats(consumer, ["verb"]).assign(protocol="any protocol")]
        )
        for row in per_call.itertuples(index=False):
            key = f"{row.verb} · {row.protocol}"
            rows += [
                ("latency p50 (ms)", key, row.latency_p50_ms),
                ("latency p95 (ms)", key, row.latency_p95_ms),
                ("error rate (%)", key, row.error_rate_pct),
            ]
    duration = bundle.ended - bundle.started
    if duration > 0:
        rows.append(("interactions per s", "all", len(consumer) / duration))
    system = bundle.system
    if not system.empty:
        per_service = system.groupby("service", observed=True)[["cpu_pct", "mem_bytes"]].mean()
        for service, row in per_service.iterrows():
            rows += [("CPU (%)", service, row.cpu_pct), ("memory (MB)", service, row.mem_bytes / 1e6)]
    if not bundle.traffic.empty:
        per_network = increments(bundle.traffic).groupby("network", observed=True)["bytes"].sum()
        rows += [("traffic (MB)", network, total / 1e6) for network, total in per_network.items()]
    return pd.concat(
        [pd.DataFrame(rows, columns=["figure", "key", "value"]), probe_figures(bundle)], ignore_index=True
    )


def _round_key(frame: pd.DataFrame) -> pd.Series:
    return frame["network"].astype(str) + " · round " + frame["round"].astype(str)


def probe_figures(bundle: Bundle) -> pd.DataFrame:
    """Per network and judged probe round: one-way delay and loss as judged (run.json's `probes`
    holds the judged rounds only), and the round trips' 95th percentile from the round's records,
    less the rounds left out of the verdicts."""
    judged = probe_rows(bundle)
    judged = judged[judged["parameter"].isin(list(PROBE_MEASURES))].dropna(subset=["measured"])
    measured = pd.DataFrame(
        {
            "figure": judged["parameter"].map(PROBE_MEASURES),
            "key": _round_key(judged),
            "value": judged["measured"].astype(float),
        }
    )
    keys = {"network": str, "round": int}
    left_out = pd.DataFrame(bundle.run.get("probes_left_out") or [], columns=list(keys)).astype(keys)
    rounds = bundle.probes[[*keys, "rtt_ms"]].astype(keys).merge(left_out, how="left", indicator=True)
    rtts = rounds[rounds["_merge"] == "left_only"].explode("rtt_ms").dropna(subset=["rtt_ms"])
    p95 = rtts.astype({"rtt_ms": float}).groupby(["network", "round"])["rtt_ms"].quantile(0.95).reset_index()
    return pd.concat(
        [measured, pd.DataFrame({"figure": PROBE_RTT_P95, "key": _round_key(p95), "value": p95["rtt_ms"]})],
        ignore_index=True,
    )


def design(path: Path, label: str | None = None) -> Design:
    trials = bundle_dirs(path)
    bundles = [load(trial) for trial in trials]
    return Design(
        label or path.name,
        trials,
        [bundle.run for bundle in bundles],
        pd.concat(
            [figures(b).assign(trial=t.name) for b, t in zip(bundles, trials, strict=True)], ignore_index=True
        ),
        pd.concat([consumer_side(b)[["ok", "latency_s"]] for b in bundles], ignore_index=True),
    )


def _half_width(spread_sq: float, df: float) -> float:
    """Half the width of the t interval of a mean (or a difference) whose squared standard error is
    `spread_sq`, with `df` degrees of freedom."""
    return float(scipy_stats.t.ppf((1 + LEVEL) / 2, df) * np.sqrt(spread_sq))


def _interval(values: np.ndarray) -> tuple[float, float]:
    half = _half_width(values.var(ddof=1) / len(values), len(values) - 1)
    return values.mean() - half, values.mean() + half


def _difference_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Welch: b's mean minus a's, each with its own variance; Welch-Satterthwaite degrees of freedom."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    delta = b.mean() - a.mean()
    if va + vb == 0:
        return delta, delta
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _half_width(va + vb, df)
    return delta - half, delta + half


def summary(one: Design) -> pd.DataFrame:
    """Per figure: trials, mean, interval (NaN below MIN_TRIALS) and the per-trial values."""
    rows = []
    for (figure, key), part in one.figures.groupby(FIGURE_KEYS, sort=True):
        values = part["value"].dropna().to_numpy(dtype=float)
        low = high = np.nan
        if len(values) >= MIN_TRIALS:
            low, high = _interval(values)
        rows.append(
            (figure, key, len(values), values.mean() if len(values) else np.nan, low, high, list(values))
        )
    return pd.DataFrame(rows, columns=[*FIGURE_KEYS, "trials", "mean", "low", "high", "values"])


def difference(base: Design, other: Design) -> pd.DataFrame:
    """Per figure both designs have: `other` minus `base` (absolute, and relative to base's mean), the
    interval of the difference, and a verdict when the interval excludes zero."""
    rows = []
    mine = dict(list(base.figures.groupby(FIGURE_KEYS)))
    for (figure, key), part in other.figures.groupby(FIGURE_KEYS, sort=True):
        if (figure, key) not in mine:
            continue
        a = mine[(figure, key)]["value"].dropna().to_numpy(dtype=float)
        b = part["value"].dropna().to_numpy(dtype=float)
        if not len(a) or not len(b):
            continue
        delta, base_mean = b.mean() - a.mean(), a.mean()
        low = high = np.nan
        if min(len(a), len(b)) >= MIN_TRIALS:
            low, high = _difference_interval(a, b)
        said = verdict(f"{figure} of {key}", delta, (low, high), base_mean, (base.label, other.label), figure)
        rows.append((figure, key, delta, low, high, base_mean, said))
    columns = [*FIGURE_KEYS, "difference", "low", "high", "base_mean", "verdict"]
    frame = pd.DataFrame(rows, columns=columns)
    scale = frame["base_mean"].where(frame["base_mean"] != 0)
    for column in ("difference", "low", "high"):
        frame[f"{column}_pct"] = frame[column] / scale * 100
    return frame


def verdict(
    what: str, delta: float, interval: tuple[float, float], base_mean: float, labels, figure: str
) -> str:
    """A sentence when the interval of the difference excludes zero; "" when it does not, or there is none."""
    low, high = interval
    if np.isnan(low) or low <= 0 <= high or base_mean == 0:
        return ""
    base, other = labels
    better = (delta > 0) == (figure in HIGHER_IS_BETTER)
    low_pct, high_pct = sorted(abs(x) / abs(base_mean) * 100 for x in interval)
    direction = "higher" if delta > 0 else "lower"
    return (
        f"{other}'s {what} is {abs(delta) / abs(base_mean) * 100:.0f} % {direction} than {base}'s "
        f"({LEVEL:.0%} interval {low_pct:.0f} % to {high_pct:.0f} %): {'better' if better else 'worse'}"
    )
