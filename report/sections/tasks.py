"""Tasks: the final Swarm snapshot (states, exit codes, restarts, placement), a timeline of the
tasks' lives with their lifecycle records, errors and log tails."""

import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange

from report.blocks import Section, details, empty, fmt_int, fmt_text, note, table
from report.bundle import Bundle
from report.plots import TimeAxis, hover, side_legend
from report.timeseries import to_ms

STATE_COLOURS = {
    "running": "#2ca02c",
    "complete": "#1f77b4",
    "shutdown": "#7f7f7f",
    "failed": "#d62728",
    "rejected": "#d62728",
    "orphaned": "#d62728",
}
LIFECYCLE_MARKERS = {
    "start": ("circle", "#1f77b4"),
    "gateways": ("diamond", "#ff7f0e"),
    "routed": ("inverted_triangle", "#17becf"),
    "ready": ("triangle", "#2ca02c"),
    "error": ("x", "#d62728"),
    "exit": ("square", "#000000"),
}
TERMINAL = {"complete", "shutdown", "failed", "rejected", "orphaned", "remove"}


def short_name(task: str, stack: str) -> str:
    """`<stack>_<service>.<slot>.<id>` → `<service>.<slot>.<id[:6]>`: what fits on an axis."""
    name = task.removeprefix(f"{stack}_")
    head, _, task_id = name.rpartition(".")
    return f"{head}.{task_id[:6]}" if head else name


def task_table(bundle: Bundle) -> pd.DataFrame:
    tasks = bundle.tasks.copy()
    tasks["start_t"] = tasks["created_at"].map(lambda t: t.timestamp() if pd.notna(t) else None)
    # A running task's UpdatedAt is when it reached `running`, not the end of its life.
    end = tasks["updated_at"].map(lambda t: t.timestamp() if pd.notna(t) else None)
    tasks["end_t"] = end.where(tasks["state"].isin(TERMINAL), bundle.stopped)
    return tasks.sort_values(["service", "slot", "created_at"], kind="stable", ignore_index=True)


def per_service(tasks: pd.DataFrame) -> pd.DataFrame:
    groups = tasks.groupby("service", sort=True)
    out = groups.agg(
        tasks=("task", "size"),
        slots=("slot", "nunique"),
        running=("state", lambda s: int((s == "running").sum())),
        failed=("state", lambda s: int(s.isin(["failed", "rejected", "orphaned"]).sum())),
        nodes=("node", lambda s: ", ".join(sorted(set(map(str, s.dropna()))))),
    )
    # Swarm replaces a dead task with a new one in the same slot: extra tasks per slot are restarts.
    out["restarts"] = out["tasks"] - out["slots"]
    return out.reset_index()


def timeline(tasks: pd.DataFrame, lifecycle: pd.DataFrame, stack: str, axis: TimeAxis):
    labels = [short_name(t, stack) for t in tasks["task"]]
    source = ColumnDataSource(
        {
            "task": labels,
            "full": tasks["task"],
            "left": to_ms(tasks["start_t"]),
            "right": to_ms(tasks["end_t"]),
            "state": tasks["state"],
            "node": tasks["node"].astype(str),
            "exit": tasks["exit_code"].astype(str),
            "error": tasks["error"].fillna("").astype(str),
            "colour": [STATE_COLOURS.get(s, "#bcbd22") for s in tasks["state"]],
        }
    )
    fig = axis.figure(
        "Tasks: lifetime coloured by final state; lifecycle records as markers",
        "",
        height=80 + 15 * len(labels),
        y_range=FactorRange(*reversed(labels)),
    )
    fig.yaxis.major_label_text_font_size = "9px"
    side_legend(fig)
    bars = fig.hbar(
        y="task", left="left", right="right", height=0.7, color="colour", alpha=0.6, source=source
    )
    hover(
        fig,
        [bars],
        [
            ("task", "@full"),
            ("node", "@node"),
            ("state", "@state"),
            ("exit code", "@exit"),
            ("error", "@error"),
        ],
        time_field="",
    )
    names = dict(zip(tasks["task"], labels, strict=True))
    marks = lifecycle[lifecycle["task"].astype(str).isin(names)]
    for event, (marker, colour) in LIFECYCLE_MARKERS.items():
        rows = marks[marks["event"] == event]
        if rows.empty:
            continue
        points = ColumnDataSource(
            {
                "x": to_ms(rows["t"]),
                "task": rows["task"].astype(str).map(names),
                "detail": rows["detail"].astype(str).str.slice(0, 200),
            }
        )
        renderer = fig.scatter(
            "x", "task", source=points, marker=marker, color=colour, size=7, legend_label=event
        )
        hover(fig, [renderer], [("", event), ("time", "@x{%F %T}"), ("detail", "@detail")])
    return fig


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("tasks", "Tasks")
    if bundle.tasks.empty:
        section.add(empty("tasks"))
        return section
    tasks = task_table(bundle)
    services = per_service(tasks)
    section.tables = {
        "services": services,
        "tasks": tasks.drop(columns=["logs_tail", "start_t", "end_t"]).astype(
            {"created_at": str, "updated_at": str}
        ),
    }
    section.add(
        table(
            services,
            "tasks-per-service",
            {
                "service": ("service", fmt_text),
                "tasks": ("tasks", fmt_int),
                "running": ("running", fmt_int),
                "failed": ("failed", fmt_int),
                "restarts": ("restarts", fmt_int),
                "nodes": ("nodes", fmt_text),
            },
            caption="Tasks per service (restarts: tasks beyond one per slot)",
        )
    )
    section.add(timeline(tasks, bundle.tables["lifecycle"], bundle.run["stack"], axis))
    section.add(
        table(
            tasks,
            "tasks-all",
            {
                "service": ("service", fmt_text),
                "task": ("task", fmt_text),
                "slot": ("slot", fmt_int),
                "node": ("node", fmt_text),
                "state": ("state", fmt_text),
                "desired_state": ("desired", fmt_text),
                "exit_code": ("exit code", fmt_int),
                "error": ("error", fmt_text),
                "created_at": ("created", lambda t: t.strftime("%H:%M:%S") if pd.notna(t) else "—"),
                "updated_at": ("updated", lambda t: t.strftime("%H:%M:%S") if pd.notna(t) else "—"),
            },
            caption="Every task Swarm knew at the final snapshot",
        )
    )

    lifecycle = bundle.tables["lifecycle"]
    failures = lifecycle[lifecycle["event"] == "error"]
    if len(failures):
        section.add(note(f"{len(failures)} lifecycle error record(s):"))
        for row in failures.itertuples():
            section.add(details(f"{row.task}: error", str(row.detail), open_=True))
    logged = tasks[tasks["logs_tail"].str.strip() != ""]
    if len(logged):
        section.add(note("Log tails (failed tasks first):"))
        failed_first = logged.assign(ok=logged["exit_code"].fillna(0) == 0).sort_values("ok", kind="stable")
        for row in failed_first.itertuples():
            mark = "" if row.ok else "⚠ "
            section.add(details(f"{mark}{row.task} ({row.state}, node {row.node})", row.logs_tail))
    return section
