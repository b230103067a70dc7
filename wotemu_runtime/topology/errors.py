"""Topology errors: each names the file, the line, the key path and what would be valid."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    path: tuple  # keys and indexes from the document root, e.g. ("nodes", 1, "networks", 0)
    message: str


def format_path(path: tuple) -> str:
    """("nodes", 1, "networks", 0) -> "nodes[1].networks[0]"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


class TopologyError(Exception):
    """One or more problems in a topology; str() lists them all, one per line."""

    def __init__(self, source: str, problems: list[Problem], lines: dict | None = None):
        self.source = source
        self.problems = problems
        self.lines = lines or {}
        super().__init__(self.render())

    def line_of(self, path: tuple) -> int | None:
        # The closest enclosing key that has a known line (missing keys point at their parent).
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def render(self) -> str:
        rendered = []
        for problem in self.problems:
            line = self.line_of(problem.path)
            where = f"{self.source}:{line}" if line else self.source
            rendered.append(f"{where}: {format_path(problem.path)}: {problem.message}")
        return "\n".join(rendered)
