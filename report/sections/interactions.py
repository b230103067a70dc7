"""Interactions: counts and errors per operation, latency percentiles, distributions and trends.

Latency statistics are over successful interactions only: a failed one's "latency" is mostly a
timeout and would say nothing about the network. Error counts and rates include every record.
"""

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange

from report.blocks import Section, empty, fmt_float, fmt_int, fmt_text, fmt_time, note, table
from report.bundle import Bundle
from report.plots import TimeAxis, hover, palette, plain_figure, side_legend
from report.timeseries import bucket, to_ms

OPERATION = ["side", "thing_id", "thing_title", "verb", "name", "protocol"]
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
ROWS_SHOWN = 100
HIST_BINS = 60


def stats(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """count, ok, errors, error rate and latency (ms) mean / p50 / p95 / p99 / max per group."""
    groups = frame.groupby(keys, observed=True, dropna=False, sort=True)
    out = groups.agg(count=("ok", "size"), ok=("ok", "sum"))
    out["errors"] = out["count"] - out["ok"]
    out["error_rate_pct"] = out["errors"] / out["count"] * 100
    latency = frame.loc[frame["ok"]].groupby(keys, observed=True, dropna=False, sort=True)["latency_s"]
    out["latency_mean_ms"] = latency.mean() * 1000
    # One quantile at a time: a list of quantiles unstacks wrongly when a key is null (producer protocol).
    for name, q in QUANTILES.items():
        out[f"latency_{name}_ms"] = latency.quantile(q) * 1000
    out["latency_max_ms"] = latency.max() * 1000
    return out.reset_index()


def totals(frame: pd.DataFrame) -> pd.DataFrame:
    """One row for all interactions, then one per side."""
    everything = frame.assign(side="all")
    return pd.concat([stats(everything, ["side"]), stats(frame, ["side"])], ignore_index=True)


def label(frame: pd.DataFrame) -> pd.Series:
    """The series an interaction belongs to in plots: its protocol (consumer side) or "producer"."""
    return frame["protocol"].astype(object).where(frame["side"] == "consumer", "producer").fillna("unknown")


def errors(frame: pd.DataFrame) -> pd.DataFrame:
    failed = frame.loc[~frame["ok"]].assign(
        error=lambda f: f["error"].astype(object).fillna("(no message)"),
        operation=lambda f: f["verb"].astype(str) + " " + f["name"].astype(str),
    )
    if failed.empty:
        return pd.DataFrame(columns=["error", "count", "first_t", "last_t", "services", "operations"])
    groups = failed.groupby("error", sort=False)
    out = groups.agg(count=("t", "size"), first_t=("t", "min"), last_t=("t", "max"))
    out["services"] = groups["service"].agg(lambda s: ", ".join(sorted(set(map(str, s)))))
    out["operations"] = groups["operation"].agg(lambda s: ", ".join(s.value_counts().index[:3]))
    return out.sort_values("count", ascending=False).reset_index()


def over_time(frame: pd.DataFrame, axis: TimeAxis) -> pd.DataFrame:
    """Per bucket and series: interactions, errors and latency percentiles (ok ones, ms)."""
    keyed = frame.assign(bucket=bucket(frame["t"], axis.start, axis.bucket_s), series=label(frame))
    out = keyed.groupby(["series", "bucket"]).agg(count=("ok", "size"), ok=("ok", "sum"))
    latency = keyed.loc[keyed["ok"]].groupby(["series", "bucket"])["latency_s"]
    quantiles = latency.quantile(list(QUANTILES.values())).unstack() * 1000
    quantiles.columns = list(QUANTILES)
    return out.join(quantiles).reset_index()


def histogram(frame: pd.DataFrame, series: pd.Series | None = None) -> pd.DataFrame:
    """Share of successful interactions per log-spaced latency bin, per series (default: `label`)."""
    names = label(frame) if series is None else series
    ok = frame.loc[frame["ok"] & (frame["latency_s"] > 0)]
    if ok.empty:
        return pd.DataFrame(columns=["series", "ms", "share_pct"])
    ms = ok["latency_s"].to_numpy() * 1000
    edges = np.geomspace(ms.min(), ms.max() * 1.0001, HIST_BINS + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    parts = []
    for series, values in pd.Series(ms, index=names[ok.index].to_numpy()).groupby(level=0):
        counts, _ = np.histogram(values.to_numpy(), edges)
        parts.append(
            pd.DataFrame({"series": series, "ms": centres, "share_pct": counts / counts.sum() * 100})
        )
    return pd.concat(parts, ignore_index=True)


def operation_label(row) -> str:
    protocol = row.protocol if isinstance(row.protocol, str) else "producer"
    return f"{row.thing_title} · {row.verb} {row.name} · {protocol}"


def percentile_plot(by_operation: pd.DataFrame):
    """p50 to p99 per operation (the busiest 30), on a log axis: where the tails are."""
    top = by_operation.dropna(subset=["latency_p50_ms"]).nlargest(30, "count").iloc[::-1]
    labels = [operation_label(row) for row in top.itertuples()]
    source = ColumnDataSource(
        {
            "op": labels,
            **{c: top[c].to_numpy() for c in top.columns if c.startswith("latency")},
            "count": top["count"].to_numpy(),
        }
    )
    fig = plain_figure(
        "Latency percentiles per operation (busiest 30)",
        height=80 + 22 * len(labels),
        y_range=FactorRange(*labels),
        x_axis_type="log",
    )
    fig.xaxis.axis_label = "latency (ms, log scale)"
    fig.segment("latency_p50_ms", "op", "latency_p99_ms", "op", source=source, line_width=2, color="#999999")
    renderers = [
        fig.scatter(
            f"latency_{name}_ms", "op", source=source, size=9, marker=marker, color=colour, legend_label=name
        )
        for name, marker, colour in (
            ("p50", "circle", "#1f77b4"),
            ("p95", "diamond", "#ff7f0e"),
            ("p99", "triangle", "#d62728"),
        )
    ]
    fig.add_layout(fig.legend[0], "right")  # inside, it would hide the slowest operations' markers
    hover(
        fig,
        renderers,
        [
            ("", "@op"),
            ("count", "@count"),
            ("p50", "@latency_p50_ms{0.0} ms"),
            ("p95", "@latency_p95_ms{0.0} ms"),
            ("p99", "@latency_p99_ms{0.0} ms"),
        ],
        time_field="",
    )
    return fig


def histogram_plot(hist: pd.DataFrame, title: str = "Latency distribution (successful interactions)"):
    fig = plain_figure(title, height=300, x_axis_type="log")
    fig.xaxis.axis_label = "latency (ms, log scale)"
    fig.yaxis.axis_label = "% of the series' interactions"
    side_legend(fig)
    series = sorted(hist["series"].unique())
    renderers = []
    for name, colour in zip(series, palette(len(series)), strict=True):
        part = hist[hist["series"] == name]
        source = ColumnDataSource(
            {"ms": part["ms"], "share": part["share_pct"], "series": [name] * len(part)}
        )
        renderers.append(
            fig.line("ms", "share", source=source, color=colour, line_width=2, legend_label=name)
        )
    hover(
        fig,
        renderers,
        [("", "@series"), ("latency", "@ms{0.0} ms"), ("share", "@share{0.00} %")],
        time_field="",
    )
    return fig


def time_plots(trend: pd.DataFrame, axis: TimeAxis):
    rate = axis.figure(f"Interactions per second ({axis.bucket_s:g} s buckets)", "interactions / s")
    latency = axis.figure(
        "Latency over time: p50 (solid) and p95 (dashed)", "latency (ms)", y_axis_type="log"
    )
    side_legend(rate)
    side_legend(latency)
    series = sorted(trend["series"].unique())
    rate_renderers, latency_renderers = [], []
    for name, colour in zip(series, palette(len(series)), strict=True):
        part = trend[trend["series"] == name]
        source = ColumnDataSource(
            {
                "x": to_ms(part["bucket"]),
                "rate": part["count"] / axis.bucket_s,
                "err": (part["count"] - part["ok"]) / axis.bucket_s,
                "count": part["count"],
                **{q: part[q] for q in QUANTILES},
                "series": [name] * len(part),
            }
        )
        rate_renderers.append(
            rate.line("x", "rate", source=source, color=colour, legend_label=name, line_width=2)
        )
        rate_renderers.append(
            rate.line(
                "x", "err", source=source, color=colour, line_dash="dotted", legend_label=f"{name} errors"
            )
        )
        latency_renderers.append(
            latency.line("x", "p50", source=source, color=colour, line_width=2, legend_label=name)
        )
        latency.line("x", "p95", source=source, color=colour, line_dash="dashed", legend_label=name)
    hover(
        rate,
        rate_renderers,
        [("", "@series"), ("time", "@x{%F %T}"), ("per s", "@rate{0.0}"), ("errors per s", "@err{0.00}")],
    )
    hover(
        latency,
        latency_renderers,
        [
            ("", "@series"),
            ("time", "@x{%F %T}"),
            ("interactions", "@count"),
            ("p50", "@p50{0.0} ms"),
            ("p95", "@p95{0.0} ms"),
            ("p99", "@p99{0.0} ms"),
        ],
    )
    return rate, latency


COUNT_COLUMNS = {
    "count": ("count", fmt_int),
    "ok": ("ok", fmt_int),
    "errors": ("errors", fmt_int),
    "error_rate_pct": ("error %", fmt_float(2)),
    "latency_mean_ms": ("mean ms", fmt_float(1)),
    "latency_p50_ms": ("p50 ms", fmt_float(1)),
    "latency_p95_ms": ("p95 ms", fmt_float(1)),
    "latency_p99_ms": ("p99 ms", fmt_float(1)),
    "latency_max_ms": ("max ms", fmt_float(1)),
}


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("interactions", "Interactions")
    frame = bundle.tables["interactions"]
    if frame.empty:
        section.add(empty("interaction records"))
        return section
    overall = totals(frame)
    by_operation = stats(frame, OPERATION)
    by_protocol = stats(frame.assign(series=label(frame)), ["series"])
    failures = errors(frame)
    section.tables = {
        "interactions_total": overall,
        "interactions_by_operation": by_operation,
        "interactions_by_protocol": by_protocol,
        "interaction_errors": failures,
    }

    section.add(note("Latency statistics are over successful interactions; counts and error rates over all."))
    section.add(
        table(
            overall,
            "interactions-total",
            {"side": ("side", fmt_text), **COUNT_COLUMNS},
            caption="All interactions, per side",
        )
    )
    section.add(
        table(
            by_protocol,
            "interactions-by-protocol",
            {"series": ("protocol", fmt_text), **COUNT_COLUMNS},
            caption="Per protocol (consumer side); producer: the exposing side, all protocols",
        )
    )
    section.add(
        table(
            by_operation,
            "interactions-by-operation",
            {
                "side": ("side", fmt_text),
                "thing_title": ("thing", fmt_text),
                "verb": ("verb", fmt_text),
                "name": ("name", fmt_text),
                "protocol": ("protocol", fmt_text),
                **COUNT_COLUMNS,
            },
            caption="Per thing, verb, name and protocol",
            limit=ROWS_SHOWN,
        )
    )
    section.add(percentile_plot(by_operation), histogram_plot(histogram(frame)))
    section.add(*time_plots(over_time(frame, axis), axis))
    if failures.empty:
        section.add(note("No interaction failed."))
    else:
        section.add(
            table(
                failures,
                "interaction-errors",
                {
                    "error": ("error", fmt_text),
                    "count": ("count", fmt_int),
                    "first_t": ("first", fmt_time),
                    "last_t": ("last", fmt_time),
                    "services": ("services", fmt_text),
                    "operations": ("operations", fmt_text),
                },
                caption="Errors, most frequent first",
                limit=50,
            )
        )
    return section
