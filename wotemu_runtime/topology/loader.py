"""Reading a topology file: bounded parsing, plain data only, and the line of every key.

A topology file is data from strangers. Before anything else looks at it, this module bounds
what it may cost (size, nesting, what YAML aliases expand to) and refuses what YAML would
silently do wrong (a key given twice keeps only the last) or what JSON cannot carry (dates,
binary, sets, NaN and infinities), so that every later step handles small, plain values.
"""

import math
from pathlib import Path

import yaml

from wotemu_runtime.topology.errors import Problem, TopologyError

# Topology files are hand-written and small; a huge one is a mistake (or an attack on the parser).
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32  # the schema needs 6 levels; deep nesting only exhausts the recursive steps after us
MAX_VALUES = 100_000  # values once aliases are expanded: a "billion laughs" file stays small on disk

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_JSON_SCALARS = (str, int, float, bool, type(None))


def _fail(source: str, message: str, line: int | None = None):
    raise TopologyError(source, [Problem((), message)], {(): line} if line else {})


def _check_depth(text: str, source: str) -> None:
    """Count nesting on the flat event stream: no recursion, so any depth is measured safely."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, _COLLECTION_START):
            depth += 1
            if depth > MAX_DEPTH:
                _fail(source, f"nested more than {MAX_DEPTH} levels deep", event.start_mark.line + 1)
        elif isinstance(event, _COLLECTION_END):
            depth -= 1


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root, source: str) -> None:
    """What the document expands to, counted once per shared (aliased) node: linear in its size."""
    sizes, open_nodes = {}, set()

    def size(node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            _fail(source, "a YAML alias refers to a collection that contains it", node.start_mark.line + 1)
        open_nodes.add(id(node))
        total = 1 + sum(size(child) for child in _children(node))
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    if size(root) > MAX_VALUES:
        _fail(source, f"the document expands to more than {MAX_VALUES} values (through YAML aliases?)")


def _key(node):
    return node.value if isinstance(node, yaml.ScalarNode) else f"<{node.id} key>"


def _line_map(root) -> tuple[dict, list[Problem]]:
    """Map each key path to its 1-based line; report keys given twice in one mapping."""
    lines, problems, pending = {}, [], [(root, ())]
    while pending:
        node, path = pending.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            first_line = {}
            for key, value in node.value:
                child = (*path, _key(key))
                line = key.start_mark.line + 1
                if child[-1] in first_line and child[-1] != "<<":
                    problems.append(
                        Problem(
                            child,
                            f"key {child[-1]!r} is given twice in this mapping (first at line "
                            f"{first_line[child[-1]]}); YAML would silently keep only the last",
                        )
                    )
                first_line.setdefault(child[-1], line)
                lines.setdefault(child, line)
                pending.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, (*path, index)) for index, item in enumerate(node.value))
    return lines, problems


def _foreign_values(data, path=()) -> list[Problem]:
    """Values JSON cannot carry (dates, binary, sets) and numbers no setting can use (NaN, ±inf)."""
    problems, pending = [], [(data, path)]
    while pending:
        value, where = pending.pop()
        if isinstance(value, dict):
            pending.extend((item, (*where, key)) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((item, (*where, index)) for index, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(where, f"{value} is not a usable number: give a finite value"))
        elif not isinstance(value, _JSON_SCALARS):
            kind = type(value).__name__
            problems.append(
                Problem(
                    where,
                    f"YAML read this as a {kind}; topology values are text, numbers, booleans, lists and "
                    "mappings: quote it to keep it as text",
                )
            )
    return problems


def parse_text(text: str, source: str) -> tuple[dict, dict]:
    """Parse YAML text into (data, line map); raise TopologyError on anything but plain data."""
    try:
        _check_depth(text, source)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_expansion(node, source)
            data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as ex:
        mark = getattr(ex, "problem_mark", None)
        reason = getattr(ex, "problem", None) or str(ex)
        _fail(source, f"not valid YAML: {reason}", mark.line + 1 if mark else None)
    except (TypeError, ValueError) as ex:  # e.g. an integer of more than 4300 digits
        _fail(source, f"not usable YAML: {ex}")
    if data is None:
        _fail(source, "the file is empty; expected a mapping with `networks` and `nodes`")
    if not isinstance(data, dict):
        _fail(source, f"expected a mapping with `networks` and `nodes`, got a {type(data).__name__}", 1)
    lines, problems = _line_map(node)
    problems += _foreign_values(data)
    if problems:
        raise TopologyError(source, problems, lines)
    return data, lines


def load_file(path: str | Path) -> tuple[dict, dict]:
    """Read and parse a topology file; every failure is a TopologyError naming the file."""
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            _fail(source, f"the file is {size} bytes; topology files are limited to {MAX_BYTES} bytes")
        raw = Path(path).read_bytes()
    except OSError as ex:
        _fail(source, f"cannot read the file: {ex.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as ex:
        _fail(source, f"not UTF-8 text (byte {ex.start})")
    return parse_text(text, source)
