"""Events and subscriptions: what was emitted and received, over time."""

import pandas as pd
from bokeh.models import ColumnDataSource

from report.blocks import Section, empty, fmt_int, fmt_text, note, table
from report.bundle import Bundle
from report.plots import TimeAxis, hover, palette, side_legend
from report.timeseries import bucket, to_ms

KEYS = ["side", "thing_title", "verb", "name", "protocol", "event"]


def counts(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.groupby(KEYS, observed=True, dropna=False, sort=True).size().rename("count").reset_index()
    return out[out["count"] > 0]


def per_bucket(frame: pd.DataFrame, axis: TimeAxis) -> pd.DataFrame:
    keyed = frame.assign(
        bucket=bucket(frame["t"], axis.start, axis.bucket_s), event=frame["event"].astype(str)
    )
    return keyed.groupby(["event", "bucket"]).size().rename("count").reset_index()


def open_subscriptions(frame: pd.DataFrame) -> pd.DataFrame:
    """Consumer subscriptions open over time: +1 at `subscribe`, -1 at `completed` or `error`."""
    consumer = frame[frame["side"] == "consumer"]
    step = consumer["event"].astype(str).map({"subscribe": 1, "completed": -1, "error": -1})
    changes = pd.DataFrame({"t": consumer["t"], "step": step}).dropna().sort_values("t", kind="stable")
    changes["open"] = changes["step"].cumsum()
    return changes


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("events", "Events and subscriptions")
    frame = bundle.tables["events"]
    if frame.empty:
        section.add(empty("event or subscription records"))
        return section
    table_counts = counts(frame)
    section.tables = {"events": table_counts}
    section.add(
        table(
            table_counts,
            "events-counts",
            {k: (k.replace("_title", ""), fmt_text) for k in KEYS} | {"count": ("count", fmt_int)},
            caption="Event records per thing, name and event",
        )
    )

    trend = per_bucket(frame, axis)
    fig = axis.figure(f"Event records per second ({axis.bucket_s:g} s buckets)", "records / s")
    side_legend(fig)
    names = sorted(trend["event"].unique())
    renderers = []
    for name, colour in zip(names, palette(len(names)), strict=True):
        part = trend[trend["event"] == name]
        source = ColumnDataSource(
            {"x": to_ms(part["bucket"]), "rate": part["count"] / axis.bucket_s, "event": [name] * len(part)}
        )
        renderers.append(fig.line("x", "rate", source=source, color=colour, line_width=2, legend_label=name))
    hover(fig, renderers, [("", "@event"), ("time", "@x{%F %T}"), ("per s", "@rate{0.00}")])
    section.add(fig)

    subscriptions = open_subscriptions(frame)
    if subscriptions.empty:
        section.add(note("No consumer subscriptions were recorded."))
    else:
        # At most one point per bucket (the last): a step line stays light however many events.
        last = subscriptions.assign(bucket=bucket(subscriptions["t"], axis.start, axis.bucket_s))
        last = last.groupby("bucket")["open"].last()
        opened = axis.figure(
            "Open subscriptions (subscribe - completed - error)", "subscriptions", height=220
        )
        source = ColumnDataSource({"x": to_ms(last.index), "open": last.to_numpy()})
        step = opened.step("x", "open", source=source, mode="after", line_width=2)
        hover(opened, [step], [("time", "@x{%F %T}"), ("open", "@open")])
        section.add(opened)
    return section
