"""Run health, the report's first section: per service, how its interactions went and how its
tasks lived, with a warning for each service a reader must look at before trusting the figures."""

import pandas as pd

from report.blocks import Section, fmt_int, fmt_text, note, table, warning
from report.bundle import KINDS, Bundle
from report.plots import TimeAxis
from report.sections.tasks import per_service
from report.sections.topology import named

# A failure share above this is worth a warning: what loss and conditions explain stays below it.
HIGH_FAILURE_SHARE = 0.05


def health(bundle: Bundle) -> pd.DataFrame:
    """One row per service: the topology's nodes first, then every other service with tasks."""
    nodes = [name for name, _ in named((bundle.run.get("topology") or {}).get("nodes"))]
    interactions = bundle.tables["interactions"]
    late = bundle.after_end["interactions"]
    tasks = bundle.tasks
    others = sorted((set(tasks["service"]) | set(interactions["service"].astype(str))) - set(nodes))
    frame = pd.DataFrame({"service": nodes + others})
    frame["node"] = frame["service"].isin(nodes)
    counts = interactions.groupby("service", observed=True)["ok"].agg(interactions="size", ok="sum")
    frame["interactions"] = frame["service"].map(counts["interactions"]).fillna(0).astype(int)
    frame["failed"] = frame["interactions"] - frame["service"].map(counts["ok"]).fillna(0).astype(int)
    frame["failed_share"] = frame["failed"] / frame["interactions"].where(frame["interactions"] > 0)
    failed = interactions[~interactions["ok"]]
    # The most frequent error; of equally frequent ones, the first in alphabetical order.
    top = failed.groupby("service", observed=True)["error"].agg(
        lambda errors: errors.astype(str).value_counts().sort_index().idxmax()
    )
    frame["top_error"] = frame["service"].map(top)
    # Subscriptions are events, not interactions: a subscriber that received them did interact.
    events = bundle.tables["events"]["service"].astype(str).value_counts()
    frame["events"] = frame["service"].map(events).fillna(0).astype(int)
    late_counts = late["service"].astype(str).value_counts()
    frame["after_end"] = frame["service"].map(late_counts).fillna(0).astype(int)
    lived = per_service(tasks).set_index("service") if len(tasks) else pd.DataFrame()
    frame["restarts"] = frame["service"].map(lived.get("restarts", {})).fillna(0).astype(int)
    crashed = tasks[tasks["exit_code"].fillna(0) != 0]["service"].value_counts()
    frame["exits"] = frame["service"].map(crashed).fillna(0).astype(int)
    return frame


def warnings(frame: pd.DataFrame) -> list[str]:
    out = []
    for row in frame.itertuples():
        if row.node and row.interactions == 0 and row.events == 0:
            out.append(f"Service {row.service} recorded no interaction and no event during the run.")
        elif row.failed_share > HIGH_FAILURE_SHARE:
            out.append(
                f"Service {row.service}: {row.failed:,} of {row.interactions:,} interactions failed "
                f"({row.failed_share:.0%}); most frequent error: {row.top_error}"
            )
    return out


def record_warnings(bundle: Bundle) -> list[str]:
    """Records that are in no figure: not stored by their writer (run.json's `unstored`), or in the
    bundle but not of their kind's model (set aside by the reader)."""
    out = []
    for service, kinds in sorted((bundle.run.get("unstored") or {}).items()):
        counts = ", ".join(f"{count:,} {kind}" for kind, count in sorted(kinds.items()))
        out.append(f"Service {service}: records not stored (its writer could not reach the store): {counts}.")
    out.extend(f"Records set aside as malformed: {refused}." for refused in bundle.set_aside.values())
    return out


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("health", "Run health")
    frame = health(bundle)
    alerts = record_warnings(bundle) + warnings(frame)
    section.add(*(warning(text) for text in alerts))
    section.add(
        table(
            frame,
            "health",
            {
                "service": ("service", fmt_text),
                "interactions": ("interactions", fmt_int),
                "failed_share": ("failed", lambda share: "—" if pd.isna(share) else f"{share:.1%}"),
                "events": ("events", fmt_int),
                "top_error": ("most frequent error", fmt_text),
                "restarts": ("restarts", fmt_int),
                "exits": ("non-zero exits", fmt_int),
                "after_end": ("after the end", fmt_int),
            },
            caption=f"Per service, during the run ({bundle.ended - bundle.started:,.0f} s)",
        )
    )
    late = {kind: len(bundle.after_end[kind]) for kind in KINDS if len(bundle.after_end[kind])}
    if late:
        counts = ", ".join(f"{count:,} {kind}" for kind, count in late.items())
        section.add(
            note(f"Recorded after the run's end, during the stop (left out of every figure): {counts}.")
        )
    section.tables = {
        "health": frame.drop(columns=["node"]),
        "health_warnings": pd.DataFrame({"warning": alerts}),
    }
    return section
