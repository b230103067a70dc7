"""The scenario: each action the gateways applied, and each kill and scale change the run phase
applied (run.json's `faults`), when it was planned and how late it took effect.

Its bands (`bands()`) are shaded on every time plot of the report, from each action's start to
its planned end (or the run's end); kills and scale changes are instants, drawn as lines.
"""

import pandas as pd

from report.blocks import Section, empty, fmt_float, fmt_int, fmt_text, note, table
from report.bundle import Bundle
from report.plots import TimeAxis


def faults(bundle: Bundle) -> pd.DataFrame:
    """Each kill and scale change as applied, one row per fault however many hosts acted on it."""
    columns = ["t", "node", "action", "kind", "planned_s", "lateness_ms", "what", "hosts"]
    applied = bundle.run.get("faults") or []
    if not applied:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(applied)
    for column, empty_value in (("killed", []), ("error", None), ("undo", False)):
        if column not in frame:
            frame[column] = [empty_value] * len(frame)
    rows = []
    for (index, planned), group in frame.groupby(["index", "planned_t"], sort=True):
        first = group.iloc[0]
        if first["kind"] == "kill":
            killed = sorted(name for names in group["killed"] for name in names)
            what = f"killed {len(killed)}: " + ", ".join(killed)
        else:
            what = ("back to " if first["undo"] else "to ") + f"{first['replicas']} replicas"
        errors = [str(e) for e in group["error"] if isinstance(e, str)]
        rows.append(
            {
                "t": float(group["applied_t"].min()),
                "node": str(first["node"]),
                "action": int(index),
                "kind": str(first["kind"]),
                "planned_s": planned - bundle.started,
                "lateness_ms": 1000 * float(group["lateness_s"].max()),
                "what": what + ("; failed: " + "; ".join(errors) if errors else ""),
                "hosts": ", ".join(sorted(group["host"].astype(str).unique())),
            }
        )
    return pd.DataFrame(rows, columns=columns).sort_values(["t", "action"]).reset_index(drop=True)


def bands(bundle: Bundle) -> list[tuple[float, float, str]]:
    """(start, end, kind) of every occurrence of an action, once however many gateways applied it,
    and each kill and scale change as an instant."""
    instants = [(row.t, row.t, row.kind) for row in faults(bundle).itertuples(index=False)]
    frame = bundle.tables["scenario"]
    if frame.empty:
        return instants
    starts = frame[frame["change"].astype(str) != "end"]
    found = {}
    for row in starts.itertuples(index=False):
        end = bundle.ended if pd.isna(row.until_t) else min(float(row.until_t), bundle.ended)
        found.setdefault(
            (row.network, row.action, float(row.from_t)), (float(row.from_t), end, str(row.action_type))
        )
    return sorted([*found.values(), *instants])


def _what(row) -> str:
    """The change in words: the conditions before → after, and who is cut off."""
    parts = [f"{key} {before} → {after}" for key, (before, after) in (row["changed"] or {}).items()]
    if row["action_type"] == "partition":
        parts.append("cut off: " + (", ".join(row["cut_off"]) or "nobody"))
    return "; ".join(parts) or "no change"


def actions(bundle: Bundle) -> pd.DataFrame:
    frame = bundle.tables["scenario"].sort_values(["planned_t", "network", "action"], kind="stable")
    return pd.DataFrame(
        {
            "network": frame["network"].astype(str),
            "action": frame["action"],
            "kind": frame["action_type"].astype(str),
            "change": frame["change"].astype(str),
            "planned_s": frame["planned_t"] - bundle.started,
            "lateness_ms": 1000 * frame["lateness_s"],
            "what": [_what(row) for _, row in frame.iterrows()],
        }
    ).reset_index(drop=True)


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("scenario", "Scenario")
    applied = faults(bundle)
    if bundle.tables["scenario"].empty and applied.empty:
        section.add(empty("scenario records"))
        return section
    if not bundle.tables["scenario"].empty:
        _gateway_actions(section, bundle)
    if not applied.empty:
        _faults(section, applied)
    return section


def _gateway_actions(section: Section, bundle: Bundle) -> None:
    done = actions(bundle)
    section.tables["scenario"] = done
    on_time = done[done["change"] != "resume"]["lateness_ms"]
    section.add(
        note(
            f"{len(done)} changes applied by the gateways; lateness of those on schedule: median "
            f"{on_time.median():.1f} ms, max {on_time.max():.1f} ms. Shaded on every time plot: "
            "orange while conditions are changed, red while nodes are cut off. A resume is a "
            "gateway restarted while the action was in force, applying it again."
        )
        if not on_time.empty
        else note("Every change was a resume (a gateway restarted while its action was in force).")
    )
    section.add(
        table(
            done,
            "scenario-actions",
            {
                "network": ("network", fmt_text),
                "action": ("scenario[]", fmt_int),
                "kind": ("kind", fmt_text),
                "change": ("change", fmt_text),
                "planned_s": ("planned (s since start)", fmt_float(3)),
                "lateness_ms": ("lateness (ms)", fmt_float(1)),
                "what": ("what changed", fmt_text),
            },
            caption="Each start and end of an action, as its network's gateway applied it",
        )
    )


def _faults(section: Section, applied: pd.DataFrame) -> None:
    section.tables["faults"] = applied.drop(columns="t")
    lateness = applied["lateness_ms"]
    section.add(
        note(
            f"{len(applied)} kills and scale changes applied from the control side (each swarm host's "
            f"fault runner, through its Docker engine); lateness median {lateness.median():.1f} ms, "
            f"max {lateness.max():.1f} ms, until the engine's call returned (Swarm then "
            "restarts the killed replicas, or starts and stops tasks). Dashed lines on every time plot: "
            "purple for a kill, green for a scale change."
        )
    )
    section.add(
        table(
            applied,
            "scenario-faults",
            {
                "node": ("node", fmt_text),
                "action": ("scenario[]", fmt_int),
                "kind": ("kind", fmt_text),
                "planned_s": ("planned (s since start)", fmt_float(3)),
                "lateness_ms": ("lateness (ms)", fmt_float(1)),
                "what": ("what was done", fmt_text),
                "hosts": ("on hosts", fmt_text),
            },
            caption="Each kill and scale change, as the run phase applied it",
        )
    )
