"""`wotemu compare A B [C ...]`: designs side by side, on one standalone page like the report's
(and, for one design, the page of a trial set: `wotemu run --repeat`).

The first design is the baseline: each other design's figures are shown as differences from it,
with their intervals and a verdict where the interval excludes zero (report/trials.py says how).
"""

import difflib
import json

import numpy as np
import pandas as pd

from report.blocks import Section, details, fmt_int, fmt_text, note, table, warning
from report.page import render_page
from report.sections.interactions import histogram, histogram_plot
from report.trials import LEVEL, MIN_TRIALS, Design, difference, summary


def _spread(mean: float, low: float, high: float) -> str:
    if np.isnan(mean):
        return "—"
    return f"{mean:,.2f}" if np.isnan(low) else f"{mean:,.2f} [{low:,.2f} to {high:,.2f}]"


def _designs_section(designs: list[Design]) -> Section:
    section = Section("designs", "Designs")
    frame = pd.DataFrame(
        {
            "design": [d.label for d in designs],
            "trials": [len(d.trials) for d in designs],
            "stack": [", ".join(sorted({r["stack"] for r in d.runs})) for d in designs],
            "runs": [[r["run_id"] for r in d.runs] for d in designs],
        }
    )
    columns = {
        "design": ("design", fmt_text),
        "trials": ("trials", fmt_int),
        "stack": ("stack", fmt_text),
        "runs": ("run ids", fmt_text),
    }
    section.add(table(frame, "designs", columns))
    section.add(
        note(
            (f"{designs[0].label} is the baseline. " if len(designs) > 1 else "")
            + "Each figure is the mean over a design's trials with its "
            f"{LEVEL:.0%} Student t interval in brackets; a difference has its Welch t interval, and a "
            "verdict when that interval excludes zero. A design with fewer than "
            f"{MIN_TRIALS} trials gets no interval, and differences with it get no verdict."
        )
    )
    short = [d.label for d in designs if len(d.trials) < MIN_TRIALS]
    if short:
        section.add(
            warning(f"Fewer than {MIN_TRIALS} trials: {', '.join(short)}. One run is an anecdote: repeat it.")
        )
    section.tables["designs"] = frame
    return section


def _verdicts_section(differences: dict[str, pd.DataFrame]) -> Section:
    section = Section("verdicts", "Verdicts")
    lines = [line for frame in differences.values() for line in frame["verdict"] if line]
    for line in lines:
        section.add(note(line))
    if not lines:
        section.add(
            note("No difference between the designs is outside its interval (or no design has intervals).")
        )
    return section


def _figures_section(designs: list[Design], summaries: list[pd.DataFrame], differences: dict) -> Section:
    section = Section("figures", "Figures")
    wide = None
    columns = {"figure": ("figure", fmt_text), "key": ("of", fmt_text)}
    for one, frame in zip(designs, summaries, strict=True):
        shown = frame[["figure", "key"]].assign(
            **{one.label: [_spread(*v) for v in frame[["mean", "low", "high"]].to_numpy()]}
        )
        wide = shown if wide is None else wide.merge(shown, on=["figure", "key"], how="outer")
        columns[one.label] = (one.label, fmt_text)
    for label, frame in differences.items():
        name = f"{label} vs {designs[0].label}"
        shown = frame[["figure", "key"]].assign(
            **{name: [_percent(*v) for v in frame[["difference_pct", "low_pct", "high_pct"]].to_numpy()]}
        )
        wide = wide.merge(shown, on=["figure", "key"], how="left")
        columns[name] = (f"{name} (%)", fmt_text)
    section.add(table(wide.sort_values(["figure", "key"]), "figures", columns))
    for one, frame in zip(designs, summaries, strict=True):
        section.tables[f"summary {one.label}"] = frame
    for label, frame in differences.items():
        section.tables[f"difference {label}"] = frame
    return section


def _percent(value: float, low: float, high: float) -> str:
    if np.isnan(value):
        return "—"
    main = f"{value:+.1f}"
    return main if np.isnan(low) else f"{main} [{low:+.1f} to {high:+.1f}]"


def _distributions_section(designs: list[Design]) -> Section:
    section = Section("distributions", "Latency distributions")
    pooled = pd.concat([d.interactions.assign(design=d.label) for d in designs], ignore_index=True)
    if not pooled["ok"].astype(bool).any():
        section.add(note("No successful consumer interactions in any design."))
        return section
    pooled["ok"] = pooled["ok"].astype(bool)
    hist = histogram(pooled, pooled["design"])
    section.add(
        histogram_plot(hist, "Latency of successful consumer interactions, all trials pooled, per design")
    )
    section.tables["histogram"] = hist
    counts = (
        pooled.groupby("design", sort=False).agg(interactions=("ok", "size"), ok=("ok", "sum")).reset_index()
    )
    section.add(
        table(
            counts,
            "pooled",
            {
                "design": ("design", fmt_text),
                "interactions": ("interactions", fmt_int),
                "ok": ("ok", fmt_int),
            },
        )
    )
    return section


def topology_diff(base: dict, other: dict, labels: tuple[str, str]) -> str:
    """A unified diff of two normalised topologies (run.json `topology`), keys sorted."""

    def lines(topology: dict) -> list[str]:
        return json.dumps(topology, indent=2, sort_keys=True, default=str).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(base), lines(other), *labels, n=2))


def _topologies_section(designs: list[Design]) -> Section:
    section = Section("topologies", "What differs between the topologies")
    base = designs[0]
    for other in designs[1:]:
        text = topology_diff(base.runs[0]["topology"], other.runs[0]["topology"], (base.label, other.label))
        if text:
            section.add(details(f"{base.label} → {other.label}", text, open_=True))
        else:
            section.add(note(f"{base.label} and {other.label} have the same topology."))
    return section


def build(designs: list[Design]) -> list[Section]:
    summaries = [summary(one) for one in designs]
    differences = {other.label: difference(designs[0], other) for other in designs[1:]}
    sections = [_designs_section(designs), _figures_section(designs, summaries, differences)]
    sections.append(_distributions_section(designs))
    if len(designs) > 1:  # a trial set alone: nothing to set against
        sections[1:1] = [_verdicts_section(differences)]
        sections.append(_topologies_section(designs))
    return sections


def render(designs: list[Design], sections: list[Section]) -> str:
    labels = " vs ".join(d.label for d in designs)
    trials = ", ".join(
        f"{d.label}: {len(d.trials)} trial{'s' if len(d.trials) != 1 else ''}" for d in designs
    )
    return render_page(f"WoTemu comparison: {labels}", labels, trials, sections, brand="WoTemu comparison")
