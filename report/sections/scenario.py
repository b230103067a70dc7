"""The scenario: each action the gateways applied, when it was planned, how late it took effect.

Its bands (`bands()`) are shaded on every time plot of the report, from each action's start to
its planned end (or the run's end).
"""

import pandas as pd

from report.blocks import Section, empty, fmt_float, fmt_int, fmt_text, note, table
from report.bundle import Bundle
from report.plots import TimeAxis


def bands(bundle: Bundle) -> list[tuple[float, float, str]]:
    """(start, end, kind) of every occurrence of an action, once however many gateways applied it."""
    frame = bundle.tables["scenario"]
    if frame.empty:
        return []
    starts = frame[frame["change"].astype(str) != "end"]
    found = {}
    for row in starts.itertuples(index=False):
        end = bundle.ended if pd.isna(row.until_t) else min(float(row.until_t), bundle.ended)
        found.setdefault(
            (row.network, row.action, float(row.from_t)), (float(row.from_t), end, str(row.action_type))
        )
    return sorted(found.values())


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
    if bundle.tables["scenario"].empty:
        section.add(empty("scenario records"))
        return section
    done = actions(bundle)
    section.tables = {"scenario": done}
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
    return section
