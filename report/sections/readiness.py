"""Time to ready: for each replica, when its task was created, its container started, its process
started, its gateways announced themselves, its routes went in and its app was ready — seconds
since the run's first task was created (the deploy), from tasks.json and the lifecycle records.

Docker attaches a task's networks before it starts the container, so "container started" also
bounds "networks attached".
"""

import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange

from report.blocks import Section, empty, fmt_float, fmt_int, fmt_text, note, table
from report.bundle import Bundle
from report.plots import TimeAxis, hover, plain_figure, side_legend
from report.sections.tasks import short_name

# The milestones of a replica's start, in order: a tasks.json column or a lifecycle event.
MILESTONES = ("created", "container_started", "start", "gateways", "routed", "ready")
# The step that ends at each milestone after the first, as the plot and the bench name it.
STEPS = {
    "container_started": ("scheduled and container started", "#7f7f7f"),
    "start": ("Python process started", "#bcbd22"),
    "gateways": ("app loaded, gateways awaited", "#ff7f0e"),
    "routed": ("routes installed", "#1f77b4"),
    "ready": ("servient started, app ready", "#2ca02c"),
}


def time_to_ready(tasks: pd.DataFrame, lifecycle: pd.DataFrame) -> pd.DataFrame:
    """One row per task that recorded a lifecycle `start`: its milestones in seconds since deploy."""
    if tasks.empty or lifecycle.empty:
        return pd.DataFrame(columns=["service", "task", "slot", *MILESTONES])
    frame = tasks[["service", "task", "slot"]].copy()
    frame["created"] = tasks["created_at"].map(lambda t: t.timestamp() if pd.notna(t) else None)
    frame["container_started"] = tasks["container_started_at"].map(
        lambda t: t.timestamp() if pd.notna(t) else None
    )
    first = lifecycle.groupby(["task", "event"], observed=True)["t"].min().unstack("event")
    for event in MILESTONES[2:]:
        column = first[event] if event in first else pd.Series(dtype=float)
        frame[event] = frame["task"].map(column)
    frame = frame[frame["start"].notna()].copy()
    deploy = frame["created"].min()
    for milestone in MILESTONES:
        frame[milestone] = frame[milestone].astype(float) - deploy
    return frame.sort_values(["service", "ready", "slot"], kind="stable", ignore_index=True)


def per_service(ready: pd.DataFrame) -> pd.DataFrame:
    """Per service: replicas, the median of each milestone, and the last replica ready."""
    groups = ready.groupby("service", sort=True)
    out = groups[list(MILESTONES)].median()
    out["replicas"] = groups.size()
    out["last_ready"] = groups["ready"].max()
    return out.reset_index()


def since_previous(ready: pd.DataFrame, milestone: str) -> pd.Series:
    """When each replica reached the milestone before this one (the last it recorded: a gateway
    has no routes to install, and older bundles lack some milestones)."""
    earlier = list(MILESTONES[: MILESTONES.index(milestone)])
    return ready[earlier].ffill(axis=1).iloc[:, -1]


def steps(ready: pd.DataFrame) -> pd.DataFrame:
    """Seconds each replica spent in each step: a milestone minus the one it reached before."""
    out = ready[["service", "task"]].copy()
    for milestone in MILESTONES[1:]:
        out[milestone] = ready[milestone] - since_previous(ready, milestone)
    return out


def plot(ready: pd.DataFrame, stack: str):
    labels = [short_name(t, stack) for t in ready["task"]]
    fig = plain_figure(
        "Time to ready per replica (seconds since the deploy), by step",
        height=80 + 12 * len(labels),
        y_range=FactorRange(*reversed(labels)),
    )
    fig.xaxis.axis_label = "seconds since the stack was deployed"
    fig.yaxis.major_label_text_font_size = "8px"
    side_legend(fig)
    renderers = []
    for milestone, (name, colour) in STEPS.items():
        left = since_previous(ready, milestone)
        shown = left.notna() & ready[milestone].notna()
        source = ColumnDataSource(
            {
                "task": [label for label, keep in zip(labels, shown, strict=True) if keep],
                "left": left[shown],
                "right": ready.loc[shown, milestone],
                "seconds": ready.loc[shown, milestone] - left[shown],
                "step": [name] * int(shown.sum()),
            }
        )
        renderers.append(
            fig.hbar(
                y="task",
                left="left",
                right="right",
                height=0.8,
                color=colour,
                source=source,
                legend_label=name,
            )
        )
    hover(fig, renderers, [("task", "@task"), ("step", "@step"), ("seconds", "@seconds{0.0}")], time_field="")
    return fig


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("readiness", "Time to ready")
    ready = time_to_ready(bundle.tasks, bundle.tables["lifecycle"])
    if ready.empty:
        section.add(empty("lifecycle start records"))
        return section
    services = per_service(ready)
    section.tables = {"time_to_ready": ready, "time_to_ready_per_service": services}
    seconds = fmt_float(1)
    section.add(
        note(
            f"The last of {len(ready)} replicas was ready {ready['ready'].max():.1f} s after the deploy. "
            "Medians per service, in seconds since the first task was created:"
        )
    )
    section.add(
        table(
            services,
            "time-to-ready",
            {
                "service": ("service", fmt_text),
                "replicas": ("replicas", fmt_int),
                "created": ("created", seconds),
                "container_started": ("container started", seconds),
                "start": ("process started", seconds),
                "gateways": ("gateways announced", seconds),
                "routed": ("routes installed", seconds),
                "ready": ("ready", seconds),
                "last_ready": ("last ready", seconds),
            },
            caption="Time to ready per service (medians over its replicas; last ready: the slowest)",
        )
    )
    section.add(plot(ready, bundle.run["stack"]))
    return section
