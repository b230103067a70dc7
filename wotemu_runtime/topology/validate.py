"""Validation entry points: a file or a document in, a valid Topology or one TopologyError out."""

from pathlib import Path
from typing import get_args

from pydantic import BaseModel, ValidationError

from wotemu_runtime.topology import checks, schema
from wotemu_runtime.topology.errors import Problem, TopologyError
from wotemu_runtime.topology.loader import load_file

_PATTERN_MEANINGS = {
    schema.NAME_PATTERN: "a name of lower-case letters, digits and inner '-', at most 32 characters",
    schema.STACK_PATTERN: "lower-case letters, digits, '_' and '-', starting with a letter or digit, "
    "at most 30",
    schema.ENV_PATTERN: "an environment variable name (letters, digits and '_')",
    schema.LABEL_PATTERN: "a label name (letters, digits, '.', '_', '-')",
    schema.HTTPS_PATTERN: "an https:// URL (plain http could be tampered with on the way)",
    schema.SHA256_PATTERN: "64 lower-case hexadecimal digits (a SHA-256 digest)",
}


def _real_path(loc: tuple, data) -> tuple:
    """Pydantic's location minus its internal steps (union tags, validators): keys the user wrote."""
    path, node = [], data
    for position, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        if in_dict or (isinstance(node, list) and isinstance(part, int) and part < len(node)):
            node = node[part]
        elif position == len(loc) - 1 and isinstance(node, dict) and isinstance(part, str):
            pass  # a missing key: the last step, name it
        else:
            continue
        path.append(part)
    return tuple(path)


def _model_at(path: tuple, data) -> type[BaseModel] | None:
    """The schema model describing the mapping at `path`, to list its valid keys."""
    model, node = schema.Topology, data
    for part in path:
        node = node[part] if isinstance(node, dict | list) else None
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        model = _first_model(annotation, node)
        if model is None:
            return None
    return model


def _first_model(annotation, node) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    candidates = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    for candidate in candidates:
        found = _first_model(candidate, node)
        if found and _discriminated_away(found, node):
            continue
        if found:
            return found
    return None


def _discriminated_away(model: type[BaseModel], node) -> bool:
    """True when the document's `model:` key selects another member of the union."""
    field = model.model_fields.get("model")
    return bool(field and isinstance(node, dict) and node.get("model") not in get_args(field.annotation))


def _message(error: dict, path: tuple, data) -> str:
    kind, text = error["type"], error["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        model = _model_at(path[:-1], data)
        valid = (
            ", ".join(field.alias or name for name, field in model.model_fields.items())
            if model
            else "see `wotemu schema`"
        )
        return f"unknown key {path[-1]!r}; valid keys here: {valid}"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern")
        meaning = _PATTERN_MEANINGS.get(pattern, f"text matching {pattern}")
        return f"expected {meaning}, got {error['input']!r}"
    if kind == "literal_error":
        return f"expected one of {error['ctx']['expected']}, got {error['input']!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"expected a value {text.removeprefix('Input should be ')}, got {error['input']!r}"
    return text


def _schema_problems(data: dict) -> tuple[schema.Topology | None, list[Problem]]:
    try:
        return schema.Topology.model_validate(data), []
    except ValidationError as ex:
        problems = []
        for error in ex.errors():
            path = _real_path(error["loc"], data)
            problems.append(Problem(path, _message(error, path, data)))
        return None, problems


def _raise(source: str, problems: list[Problem], lines: dict | None) -> None:
    unique = list(dict.fromkeys(problems))
    lines = lines or {}
    unique.sort(key=lambda p: TopologyError(source, [], lines).line_of(p.path) or 0)
    raise TopologyError(source, unique, lines)


def validate_document(
    data: dict,
    source: str,
    lines: dict | None = None,
    base_dir: Path | None = None,
    hosts: list[dict] | None = None,
) -> schema.Topology:
    """Validate a parsed document (against the swarm's `hosts` too, if given); raise one
    TopologyError listing every problem."""
    topology, problems = _schema_problems(data)
    problems += checks.check(data, base_dir or Path.cwd())
    if hosts and not problems:
        problems += checks.check_swarm(data, hosts)
    if problems:
        _raise(source, problems, lines)
    return topology


def validate_file(
    path: str | Path, base_dir: Path | None = None, hosts: list[dict] | None = None
) -> schema.Topology:
    data, lines = load_file(path)
    return validate_document(data, str(path), lines, base_dir, hosts)


def read_document(path: str | Path, base_dir: Path | None = None) -> dict:
    """Read and validate a topology file once, as plain data that can travel between a run's phases
    (Ansible facts): its source, stack name, data and key lines. `topology_of` takes it from there."""
    data, lines = load_file(path)
    topology = validate_document(data, str(path), lines, base_dir)
    return {
        "source": str(path),
        "stack": topology.experiment.name,
        "data": data,
        "lines": [[list(key), line] for key, line in lines.items()],
    }


def topology_of(
    document: dict, hosts: list[dict] | None = None, networks: list[dict] = ()
) -> schema.Topology:
    """The Topology of a document `read_document` validated, checked against the swarm's `hosts` and
    the `networks` already on it."""
    if hosts:
        problems = checks.check_swarm(document["data"], hosts, networks)
        if problems:
            _raise(document["source"], problems, {tuple(key): line for key, line in document["lines"]})
    return schema.Topology.model_validate(document["data"])
