"""The data tables of a report page, parsed back: {table id: {"keys": [...], "rows": [[...]]}}."""

from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict] = {}
        self._table = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data" in (attrs.get("class") or "").split():
            self._table = self.tables.setdefault(attrs["id"], {"keys": [], "rows": []})
        elif self._table is not None and tag == "th":
            self._table["keys"].append(attrs["data-key"])
        elif self._table is not None and tag == "tr":
            self._row = []
        elif self._row is not None and tag == "td":
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self._table["rows"].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


def tables(html: str) -> dict[str, dict]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def records(table: dict) -> list[dict]:
    return [dict(zip(table["keys"], row, strict=True)) for row in table["rows"]]


def number(text: str) -> float | None:
    """A cell's number ("1,234.5" → 1234.5; "—" → None)."""
    return None if text == "—" else float(text.replace(",", ""))
