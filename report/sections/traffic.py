"""Traffic per network and protocol over time, both directions, from the gateways' counters; and
what each network's shaper let out and dropped.

Gateways publish cumulative kernel counters per task; the report differences them (first sample
counts from zero, a drop means a restart) and sums the increments per bucket.
"""

import pandas as pd
from bokeh.models import ColumnDataSource

from report.blocks import Section, empty, fmt_float, fmt_int, fmt_text, note, table
from report.bundle import Bundle
from report.plots import TimeAxis, hover, palette, side_legend
from report.timeseries import bucket, counter_deltas, to_ms
from wotemu_runtime.contract.conditions import one_way_loss

COUNTER = ["task", "network", "protocol", "direction"]
SERIES = ["network", "protocol", "direction"]


def increments(traffic: pd.DataFrame) -> pd.DataFrame:
    return counter_deltas(traffic, COUNTER, ["packets", "bytes"])


def totals(deltas: pd.DataFrame) -> pd.DataFrame:
    out = deltas.groupby(SERIES, observed=True, sort=True)[["packets", "bytes"]].sum().reset_index()
    out[["packets", "bytes"]] = out[["packets", "bytes"]].astype("int64")
    return out


def shaped(bundle: Bundle) -> pd.DataFrame:
    """Per network: what its shaper let out and dropped over the run, against the configured loss."""
    columns = ["network", "backend", "packets", "bytes", "dropped", "dropped_pct", "configured_loss_pct"]
    shaping = bundle.tables["shaping"]
    if shaping.empty:
        return pd.DataFrame(columns=columns)
    deltas = counter_deltas(shaping, ["task", "network"], ["packets", "bytes", "dropped"])
    out = deltas.groupby("network", observed=True).agg(
        backend=("backend", lambda b: ", ".join(sorted(set(map(str, b))))),
        packets=("packets", "sum"),
        bytes=("bytes", "sum"),
        dropped=("dropped", "sum"),
    )
    out = out.reset_index().astype({"packets": "int64", "bytes": "int64", "dropped": "int64"})
    seen = out["packets"] + out["dropped"]
    out["dropped_pct"] = (100 * out["dropped"] / seen.where(seen > 0)).astype(float)
    gateways = bundle.run.get("gateways") or {}
    out["configured_loss_pct"] = [
        100 * one_way_loss(gateways[str(n)].get("netem") or {}) if str(n) in gateways else None
        for n in out["network"]
    ]
    return out[columns]


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
    left = shaped(bundle)
    section.tables = {"traffic": total, "gateway_tasks": gateway_tasks, "shaped": left}
    section.add(
        note(
            "Packets and bytes offered to each network's gateway, per protocol, counted by its firewall "
            "as they arrive, before the shaper delays or drops them; requests go towards the protocol's "
            "port, responses come from it. Protocol `probe` is the fidelity probe's own traffic."
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
    if not left.empty:
        section.add(
            note(
                "What left each network's gateway after shaping, and what its shaper dropped (loss and "
                "queue overflow), as the shaper counted them itself: NetEm's queueing disciplines, or the "
                "userspace shaper's queue. Both directions and every protocol together (the shaper does "
                "not tell them apart); duplicates count as packets that left. The shaper counts offloaded "
                "segments one by one where the firewall may count one merged packet, so its packets may "
                "exceed those offered."
            ),
            table(
                left,
                "shaped-totals",
                {
                    "network": ("network", fmt_text),
                    "backend": ("shaper", fmt_text),
                    "packets": ("packets out", fmt_int),
                    "bytes": ("IP bytes out", fmt_int),
                    "dropped": ("dropped", fmt_int),
                    "dropped_pct": ("dropped %", fmt_float(2)),
                    "configured_loss_pct": ("configured loss %", fmt_float(2)),
                },
                caption="Shaped: out of each gateway, over the run",
            ),
        )
    for network in sorted(deltas["network"].astype(str).unique()):
        section.add(*network_plots(deltas, network, axis))
    return section
