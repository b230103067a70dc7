"""What a section is made of: HTML fragments, data tables and Bokeh plots, in reading order.

Tables are plain HTML rather than Bokeh DataTables: they are readable without JavaScript, cost no
extra JS bundle, and their numbers can be checked by a test that parses the page.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from bokeh.model import Model
from markupsafe import Markup


@dataclass
class Table:
    """An HTML table. `keys` are the machine names of the columns (as in the --json output)."""

    id: str
    keys: list[str]
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""
    more: int = 0  # rows left out of the page (still in the --json output)


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Markup | Table | Model] = field(default_factory=list)
    # The section's summary tables, full precision, for --json.
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def add(self, *blocks: Markup | Table | Model) -> None:
        self.blocks.extend(blocks)


def fmt_int(value) -> str:
    return "—" if pd.isna(value) else f"{int(value):,}"


def fmt_float(digits: int) -> Callable[[object], str]:
    def fmt(value) -> str:
        return "—" if pd.isna(value) else f"{value:,.{digits}f}"

    return fmt


def fmt_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    if value is None or (not isinstance(value, dict) and pd.isna(value)):
        return "—"
    return str(value)


def fmt_time(value) -> str:
    """Unix seconds → UTC wall clock."""
    return "—" if pd.isna(value) else pd.Timestamp(value, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")


def table(
    frame: pd.DataFrame,
    id: str,
    columns: dict[str, tuple[str, Callable[[object], str]]],
    caption: str = "",
    limit: int | None = None,
) -> Table:
    """A Table of `frame`'s columns {key: (header, formatter)}, at most `limit` rows."""
    shown = frame if limit is None else frame.head(limit)
    rows = [
        [fmt(value) for (_, fmt), value in zip(columns.values(), row, strict=True)]
        for row in shown[list(columns)].itertuples(index=False)
    ]
    return Table(
        id, list(columns), [header for header, _ in columns.values()], rows, caption, len(frame) - len(shown)
    )


def note(text: str) -> Markup:
    """A paragraph of plain text."""
    return Markup("<p class='note'>{}</p>").format(text)


def empty(what: str) -> Markup:
    """What a section shows instead of plots when its table has no records."""
    return Markup("<p class='empty'>No {} in this bundle.</p>").format(what)


def warning(text: str) -> Markup:
    return Markup("<div class='warning'>⚠ {}</div>").format(text)


def details(summary: str, text: str, open_: bool = False) -> Markup:
    """A collapsed block of preformatted text (logs, tracebacks)."""
    return Markup("<details{}><summary>{}</summary><pre>{}</pre></details>").format(
        Markup(" open") if open_ else "", summary, text
    )
