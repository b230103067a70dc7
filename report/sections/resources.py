"""CPU and memory per service and per task, against their limits, and the tasks ranked by use.

CPU is in percent of one core (100 = one core), as the samplers record it; limits are drawn in
the same unit. Memory is in MiB.
"""

import numpy as np
import pandas as pd
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJS, Select

from report.blocks import Section, empty, fmt_float, fmt_text, note, table
from report.bundle import Bundle
from report.plots import TimeAxis, hover, palette, side_legend
from report.timeseries import bucket, to_ms

MIB = 2**20
RANKED = 25


def ranking(system: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """Per task: mean and peak CPU and memory, limits, share of limits; busiest CPU first."""
    groups = system.groupby(["service", "task"], observed=True)
    out = groups.agg(
        samples=("t", "size"),
        cpu_mean_pct=("cpu_pct", "mean"),
        cpu_max_pct=("cpu_pct", "max"),
        cpu_limit_cores=("cpu_limit_cores", "last"),
        cpu_mean_pct_of_limit=("cpu_pct_of_limit", "mean"),
        mem_mean_mib=("mem_bytes", "mean"),
        mem_max_mib=("mem_bytes", "max"),
        mem_limit_mib=("mem_limit_bytes", "last"),
        mem_max_pct_of_limit=("mem_pct_of_limit", "max"),
    ).reset_index()
    for col in ("mem_mean_mib", "mem_max_mib", "mem_limit_mib"):
        out[col] = out[col] / MIB
    nodes = tasks.set_index("task")["node"]
    out["node"] = out["task"].astype(str).map(nodes)
    return out.sort_values("cpu_mean_pct", ascending=False, ignore_index=True)


def task_series(system: pd.DataFrame, axis: TimeAxis) -> pd.DataFrame:
    """Per task and bucket: mean CPU % and mean memory MiB (and the limits)."""
    keyed = system.assign(bucket=bucket(system["t"], axis.start, axis.bucket_s))
    out = keyed.groupby(["service", "task", "bucket"], observed=True).agg(
        cpu=("cpu_pct", "mean"),
        mem=("mem_bytes", "mean"),
        cpu_limit=("cpu_limit_cores", "last"),
        mem_limit=("mem_limit_bytes", "last"),
    )
    out["mem"] /= MIB
    out["mem_limit"] /= MIB
    out["cpu_limit"] *= 100
    return out.reset_index()


def service_plots(series: pd.DataFrame, axis: TimeAxis):
    """Per service, the mean over its tasks of each bucket, and each service's per-task limit."""
    by_service = (
        series.groupby(["service", "bucket"], observed=True)
        .agg(
            cpu=("cpu", "mean"),
            mem=("mem", "mean"),
            tasks=("task", "nunique"),
            cpu_limit=("cpu_limit", "last"),
            mem_limit=("mem_limit", "last"),
        )
        .reset_index()
    )
    cpu = axis.figure(
        "CPU per service (mean per task; dashed: limit per task)", "CPU % of one core", height=320
    )
    mem = axis.figure("Memory per service (mean per task; dashed: limit per task)", "MiB", height=320)
    side_legend(cpu)
    side_legend(mem)
    services = sorted(by_service["service"].unique())
    cpu_lines, mem_lines = [], []
    for name, colour in zip(services, palette(len(services)), strict=True):
        part = by_service[by_service["service"] == name]
        source = ColumnDataSource(
            {c: part[c].to_numpy() for c in ("cpu", "mem", "tasks", "cpu_limit", "mem_limit")}
            | {"x": to_ms(part["bucket"]), "service": [name] * len(part)}
        )
        cpu_lines.append(cpu.line("x", "cpu", source=source, color=colour, line_width=2, legend_label=name))
        mem_lines.append(mem.line("x", "mem", source=source, color=colour, line_width=2, legend_label=name))
        if part["cpu_limit"].notna().any():
            cpu.line("x", "cpu_limit", source=source, color=colour, line_dash="dashed", legend_label=name)
        if part["mem_limit"].notna().any():
            mem.line("x", "mem_limit", source=source, color=colour, line_dash="dashed", legend_label=name)
    tips = [("", "@service"), ("time", "@x{%F %T}"), ("tasks", "@tasks")]
    hover(cpu, cpu_lines, [*tips, ("CPU", "@cpu{0.0} %"), ("limit", "@cpu_limit{0.0} %")])
    hover(mem, mem_lines, [*tips, ("memory", "@mem{0.0} MiB"), ("limit", "@mem_limit{0.0} MiB")])
    return cpu, mem


def multi_line_data(part: pd.DataFrame, value: str) -> dict:
    """One line per task (xs, ys lists), plus the limit line of the service, for a MultiLine."""
    tasks = sorted(part["task"].astype(str).unique())
    by_task = {task: rows for task, rows in part.groupby(part["task"].astype(str))}
    limit = part[f"{value}_limit"]
    has_limit = limit.notna().any()
    return {
        "xs": [to_ms(by_task[t]["bucket"]) for t in tasks],
        "ys": [by_task[t][value].to_numpy(dtype=np.float32) for t in tasks],
        "task": tasks,
        "colour": palette(len(tasks)),
        "limit": [float(limit.max()) if has_limit else float("nan")] * len(tasks),
    }


def task_plots(series: pd.DataFrame, axis: TimeAxis):
    """Per-task lines for one service at a time, chosen with a selector. Every service's bucketed
    data is embedded (one data source each); choosing a service copies its data into the plot."""
    services = sorted(series["service"].astype(str).unique())
    figures, switches = [], []
    for value, title, unit in (
        ("cpu", "CPU per task", "CPU % of one core"),
        ("mem", "Memory per task", "MiB"),
    ):
        choices = [ColumnDataSource(multi_line_data(series[series["service"] == s], value)) for s in services]
        shown = ColumnDataSource(dict(choices[0].data))
        first_limit = choices[0].data["limit"][0]
        limit = ColumnDataSource({"x": [axis.range.start, axis.range.end], "y": [first_limit, first_limit]})
        fig = axis.figure(f"{title} of the selected service (dashed: limit)", unit, height=300)
        lines = fig.multi_line("xs", "ys", source=shown, line_color="colour", line_width=1.5)
        fig.line("x", "y", source=limit, color="black", line_dash="dashed")
        hover(fig, [lines], [("task", "@task"), ("limit", "@limit{0.0}")], time_field="")
        figures.append(fig)
        switches.append([shown, limit, choices])
    select = Select(title="Service", value=services[0], options=services, width=300)
    select.js_on_change(
        "value",
        CustomJS(
            args={"services": services, "switches": switches},
            code="""
        const i = services.indexOf(cb_obj.value);
        for (const [shown, limit, choices] of switches) {
            shown.data = {...choices[i].data};
            const y = choices[i].data.limit[0];
            limit.data = {x: limit.data.x, y: [y, y]};
        }""",
        ),
    )
    return column(select, *figures, sizing_mode="stretch_width")


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("resources", "CPU and memory")
    system = bundle.tables["system"]
    if system.empty:
        section.add(empty("system samples"))
        return section
    ranked = ranking(system, bundle.tasks)
    section.tables = {"tasks_by_resources": ranked}
    series = task_series(system, axis)
    section.add(*service_plots(series, axis))
    section.add(task_plots(series, axis))
    columns = {
        "service": ("service", fmt_text),
        "task": ("task", fmt_text),
        "node": ("node", fmt_text),
        "cpu_mean_pct": ("CPU mean %", fmt_float(1)),
        "cpu_max_pct": ("CPU max %", fmt_float(1)),
        "cpu_limit_cores": ("CPU limit (cores)", fmt_float(2)),
        "cpu_mean_pct_of_limit": ("mean % of limit", fmt_float(1)),
        "mem_mean_mib": ("mem mean MiB", fmt_float(1)),
        "mem_max_mib": ("mem max MiB", fmt_float(1)),
        "mem_limit_mib": ("mem limit MiB", fmt_float(1)),
        "mem_max_pct_of_limit": ("max % of limit", fmt_float(1)),
    }
    section.add(note("CPU: 100 % is one core. A dash means no limit."))
    section.add(
        table(
            ranked, "tasks-by-cpu", columns, caption=f"Tasks ranked by mean CPU (top {RANKED})", limit=RANKED
        )
    )
    by_memory = ranked.sort_values("mem_max_mib", ascending=False, ignore_index=True)
    section.add(
        table(
            by_memory,
            "tasks-by-memory",
            columns,
            caption=f"Tasks ranked by peak memory (top {RANKED})",
            limit=RANKED,
        )
    )
    return section
