"""App-defined metrics, plotted generically: per metric, each service's mean over its tasks,
with the range (min to max over tasks) shaded."""

import pandas as pd
from bokeh.models import ColumnDataSource

from report.blocks import Section, empty, fmt_float, fmt_int, fmt_text, note, table
from report.bundle import Bundle
from report.plots import TimeAxis, hover, palette, side_legend
from report.timeseries import bucket, to_ms

PLOTTED = 20  # metrics with plots; the table lists them all


def metrics(app: pd.DataFrame) -> pd.DataFrame:
    groups = app.groupby("metric", observed=True, sort=True)
    out = groups.agg(
        records=("t", "size"),
        tasks=("task", "nunique"),
        numeric=("value", "count"),
        min=("value", "min"),
        mean=("value", "mean"),
        max=("value", "max"),
    )
    out["last"] = app.sort_values("t", kind="stable").groupby("metric", observed=True)["value"].last()
    return out.reset_index()


def metric_plot(rows: pd.DataFrame, metric: str, axis: TimeAxis):
    keyed = rows.assign(bucket=bucket(rows["t"], axis.start, axis.bucket_s))
    per_task = keyed.groupby(["service", "task", "bucket"], observed=True)["value"].mean().reset_index()
    per_service = per_task.groupby(["service", "bucket"], observed=True)["value"].agg(
        ["mean", "min", "max", "count"]
    )
    per_service = per_service.reset_index()
    fig = axis.figure(f"{metric} (mean over each service's tasks; shaded: min to max)", metric, height=260)
    side_legend(fig)
    services = sorted(per_service["service"].astype(str).unique())
    renderers = []
    for service, colour in zip(services, palette(len(services)), strict=True):
        part = per_service[per_service["service"] == service]
        source = ColumnDataSource(
            {
                "x": to_ms(part["bucket"]),
                **{c: part[c] for c in ("mean", "min", "max", "count")},
                "service": [service] * len(part),
            }
        )
        fig.varea("x", "min", "max", source=source, color=colour, alpha=0.15, legend_label=service)
        renderers.append(
            fig.line("x", "mean", source=source, color=colour, line_width=2, legend_label=service)
        )
    hover(
        fig,
        renderers,
        [
            ("", "@service"),
            ("time", "@x{%F %T}"),
            ("mean", "@mean{0.000}"),
            ("min", "@min{0.000}"),
            ("max", "@max{0.000}"),
            ("tasks", "@count"),
        ],
    )
    return fig


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("app", "App metrics")
    app = bundle.tables["app"]
    if app.empty:
        section.add(empty("app-defined metrics"))
        return section
    summary = metrics(app)
    section.tables = {"app_metrics": summary}
    number = fmt_float(3)
    section.add(
        table(
            summary,
            "app-metrics",
            {
                "metric": ("metric", fmt_text),
                "records": ("records", fmt_int),
                "tasks": ("tasks", fmt_int),
                "numeric": ("numeric values", fmt_int),
                "min": ("min", number),
                "mean": ("mean", number),
                "max": ("max", number),
                "last": ("last", number),
            },
        )
    )
    numeric = app.dropna(subset=["value"])
    names = [m for m in summary["metric"].astype(str) if (numeric["metric"] == m).any()]
    if len(names) > PLOTTED:
        section.add(
            note(f"Plots for the first {PLOTTED} of {len(names)} numeric metrics; all are in the table.")
        )
    for metric in names[:PLOTTED]:
        section.add(metric_plot(numeric[numeric["metric"] == metric], metric, axis))
    return section
