"""Reading a topology file: size limit, YAML parsing, and the line of every key."""

from pathlib import Path

import yaml

from wotemu_runtime.topology.errors import Problem, TopologyError

# Topology files are hand-written and small; a huge one is a mistake (or an attack on the parser).
MAX_BYTES = 1024 * 1024

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_map(node, path=(), lines=None) -> dict:
    """Map each key path of a composed YAML document to its 1-based line."""
    lines = {} if lines is None else lines
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            lines[child] = key.start_mark.line + 1
            _line_map(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines)
    return lines


def parse_text(text: str, source: str) -> tuple[dict, dict]:
    """Parse YAML text into (data, line map); raise TopologyError on anything but a mapping."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as ex:
        mark = getattr(ex, "problem_mark", None)
        lines = {(): mark.line + 1} if mark else {}
        reason = getattr(ex, "problem", None) or str(ex)
        raise TopologyError(source, [Problem((), f"not valid YAML: {reason}")], lines) from None
    if data is None:
        raise TopologyError(
            source, [Problem((), "the file is empty; expected a mapping with `networks` and `nodes`")]
        )
    if not isinstance(data, dict):
        raise TopologyError(
            source,
            [Problem((), f"expected a mapping with `networks` and `nodes`, got a {type(data).__name__}")],
            {(): 1},
        )
    return data, _line_map(node)


def load_file(path: str | Path) -> tuple[dict, dict]:
    """Read and parse a topology file; every failure is a TopologyError naming the file."""
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise TopologyError(
                source,
                [Problem((), f"the file is {size} bytes; topology files are limited to {MAX_BYTES} bytes")],
            )
        raw = Path(path).read_bytes()
    except OSError as ex:
        raise TopologyError(source, [Problem((), f"cannot read the file: {ex.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise TopologyError(source, [Problem((), f"not UTF-8 text (byte {ex.start})")]) from None
    return parse_text(text, source)
