"""Traffic per network and protocol over time, both directions, from the gateways' counters.

Gateways publish cumulative kernel counters per task; the report differences them (first sample
counts from zero, a drop means a restart) and sums the increments per bucket.
"""

import pandas as pd
from bokeh.models import ColumnDataSource

from report.blocks import Section, empty, fmt_int, fmt_text, note, table
from report.bundle import Bundle
from report.plots import TimeAxis, hover, palette, side_legend
from report.timeseries import bucket, counter_deltas, to_ms

COUNTER = ["task", "network", "protocol", "direction"]
SERIES = ["network", "protocol", "direction"]


def increments(traffic: pd.DataFrame) -> pd.DataFrame:
    return counter_deltas(traffic, COUNTER, ["packets", "bytes"])


def totals(deltas: pd.DataFrame) -> pd.DataFrame:
    out = deltas.groupby(SERIES, observed=True, sort=True)[["packets", "bytes"]].sum().reset_index()
    out[["packets", "bytes"]] = out[["packets", "bytes"]].astype("int64")
    return out


def restarts(traffic: pd.DataFrame) -> pd.DataFrame:
    """Gateway tasks per network: more than one means the counters restarted."""
    return traffic.groupby("network", observed=True)["task"].nunique().rename("gateway_tasks").reset_index()


def network_plots(deltas: pd.DataFrame, network: str, axis: TimeAxis) -> list:
    part = deltas[deltas["network"] == network]
    keyed = part.assign(bucket=bucket(part["t"], axis.start, axis.bucket_s))
    per_bucket = keyed.groupby(["protocol", "direction", "bucket"], observed=True)[["packets", "bytes"]].sum()
    per_bucket = per_bucket.reset_index()
    protocols = sorted(per_bucket["protocol"].astype(str).unique())
    colours = dict(zip(protocols, palette(len(protocols)), strict=True))
    figures = []
    for value, unit, scale in (("bytes", "kbit/s", 8 / 1000), ("packets", "packets/s", 1.0)):
        fig = axis.figure(
            f"{network}: {value} per second (solid: requests, dashed: responses)", unit, height=280
        )
        side_legend(fig)
        renderers = []
        for (protocol, direction), rows in per_bucket.groupby(["protocol", "direction"], observed=True):
            source = ColumnDataSource(
                {
                    "x": to_ms(rows["bucket"]),
                    "y": rows[value] * scale / axis.bucket_s,
                    "series": [f"{protocol} {direction}"] * len(rows),
                }
            )
            dash = "solid" if direction == "request" else "dashed"
            renderers.append(
                fig.line(
                    "x",
                    "y",
                    source=source,
                    color=colours[str(protocol)],
                    line_dash=dash,
                    line_width=2,
                    legend_label=str(protocol),
                )
            )
        hover(fig, renderers, [("", "@series"), ("time", "@x{%F %T}"), (unit, "@y{0.00}")])
        figures.append(fig)
    return figures


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("traffic", "Traffic")
    traffic = bundle.tables["traffic"]
    if traffic.empty:
        section.add(empty("traffic records"))
        return section
    deltas = increments(traffic)
    total = totals(deltas)
    gateway_tasks = restarts(traffic)
    section.tables = {"traffic": total, "gateway_tasks": gateway_tasks}
    section.add(
        note(
            "Packets and bytes offered to each network's gateway, per protocol, counted as they arrive, "
            "before the shaper delays or drops them (what left after shaping is not counted apart yet); "
            "requests go towards the protocol's port, responses come from it. Protocol `probe` is the "
            "fidelity probe's own traffic."
        )
    )
    restarted = gateway_tasks[gateway_tasks["gateway_tasks"] > 1]
    for row in restarted.itertuples():
        section.add(
            note(
                f"Network {row.network}: {row.gateway_tasks} gateway tasks (restarted); their counters "
                "are added up."
            )
        )
    section.add(
        table(
            total,
            "traffic-totals",
            {
                "network": ("network", fmt_text),
                "protocol": ("protocol", fmt_text),
                "direction": ("direction", fmt_text),
                "packets": ("packets", fmt_int),
                "bytes": ("bytes", fmt_int),
            },
            caption="Totals over the run",
        )
    )
    for network in sorted(deltas["network"].astype(str).unique()):
        section.add(*network_plots(deltas, network, axis))
    return section
