"""Reading a results bundle (docs/design.md §8.4) into typed pandas frames.

Tables are parsed with pyarrow's multi-threaded JSON reader: for a million interaction records it
takes about 1 s, where `pandas.read_json` takes 14 s and a `json.loads` loop 8 s; a table with bad
records is read again in chunks, and only a bad record's chunk record by record. Every problem
with the bundle is a `BundleError` whose message names the file and what is wrong with it.
"""

import gzip
import io
import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json

from wotemu_runtime.contract import records

SCHEMA_VERSION = 1

# The fields of §8.3 per record kind (contract.records), as Arrow types. Extra fields are ignored
# (they are allowed to appear); missing ones are an error. Strings become pandas categoricals: they
# repeat a lot (services, tasks, verbs...), and categoricals group fast and take little memory.
_ARROW = {str: pa.string(), float: pa.float64(), int: pa.int64(), bool: pa.bool_(), None: None}
COMMON_FIELDS = {name: _ARROW[kind] for name, kind in records.COMMON_FIELDS.items()}
FIELDS = {kind: {name: _ARROW[t] for name, t in fields.items()} for kind, fields in records.FIELDS.items()}
KINDS = records.KINDS
# Kinds whose records hold free JSON (app `data`, info's role-specific keys, a probe round's round
# trips): few records, read
# with the json module so that nested values stay Python objects.
FREE_FORM = {"app", "info", "probes", "scenario"}
# Set-aside records quoted per table (the count and the reasons cover them all).
EXAMPLES = 3
# Lines per chunk when a table holds bad records: only a bad record's chunk is read the slow way.
CHUNK_LINES = 50_000

RUN_KEYS = (
    "schema_version",
    "run_id",
    "stack",
    "topology",
    "hosts",
    "versions",
    "started_at",
    "ended_at",
    "stopped_at",
    "overrides",
    "gateways",
    "probes",
    "drops",
)
TASK_KEYS = (
    "service",
    "task",
    "slot",
    "node",
    "state",
    "desired_state",
    "exit_code",
    "error",
    "created_at",
    "updated_at",
    "logs_tail",
)
# Read from each task's container at the stop; absent from older bundles (then empty).
OPTIONAL_TASK_KEYS = ("container_started_at", "container_finished_at", "oom_killed", "logs_error")


class BundleError(Exception):
    """The results bundle is missing or malformed; the message says which file and why."""


@dataclass
class SetAside:
    """The records of one table that the report refused: how many, why, and the first few."""

    path: Path
    count: int = 0
    reasons: Counter = field(default_factory=Counter)  # "latency_s: missing" -> records
    examples: list[str] = field(default_factory=list)  # "line 12: latency_s: missing"

    def add(self, number: int, field_name: str | None, message: str) -> None:
        reason = f"{field_name}: {message}" if field_name else message
        self.count += 1
        self.reasons[reason] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(f"line {number}: {reason}")

    def __str__(self) -> str:
        reasons = "; ".join(f"{reason} ({count:,})" for reason, count in self.reasons.most_common(3))
        first = ", ".join(self.examples)
        return f"{self.path.name}: {self.count:,} records set aside — {reasons}; first: {first}"


@dataclass
class Bundle:
    """A run's bundle. `tables` holds the records of the run itself, up to its end; what the stop
    phase recorded later is in `after_end` (shown apart, never in the run's figures). Records that
    are not of their kind's model are in no table: `set_aside` counts them per kind."""

    path: Path
    run: dict
    tasks: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    after_end: dict[str, pd.DataFrame]
    set_aside: dict[str, SetAside]

    @property
    def started(self) -> float:
        """Run start, Unix seconds."""
        return pd.Timestamp(self.run["started_at"]).timestamp()

    @property
    def ended(self) -> float:
        """The run's end (its start plus its duration), Unix seconds."""
        return pd.Timestamp(self.run["ended_at"]).timestamp()

    @property
    def stopped(self) -> float:
        return pd.Timestamp(self.run["stopped_at"]).timestamp()

    def __getattr__(self, kind: str) -> pd.DataFrame:
        # bundle.interactions, bundle.system, ...: the record tables by kind.
        if kind in KINDS:
            return self.tables[kind]
        raise AttributeError(kind)


def load(path: str | Path) -> Bundle:
    """Read the bundle in `path` (results/<stack>/<run_id>/)."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no such directory")
    if not any(path.iterdir()):
        raise BundleError(
            f"{path}: empty directory, not a results bundle (no run.json, tasks.json or tables)"
        )
    run = read_run(path / "run.json")
    tasks = read_tasks(path / "tasks.json")
    read = {kind: read_table(path / f"{kind}.jsonl.gz", kind) for kind in KINDS}
    tables = {kind: frame for kind, (frame, _) in read.items()}
    ended = pd.Timestamp(run["ended_at"]).timestamp()
    late = {kind: after(frame, kind, ended) for kind, frame in tables.items()}
    return Bundle(
        path,
        run,
        tasks,
        {kind: frame[~late[kind]] for kind, frame in tables.items()},
        {kind: frame[late[kind]] for kind, frame in tables.items()},
        {kind: refused for kind, (_, refused) in read.items() if refused},
    )


def after(frame: pd.DataFrame, kind: str, ended: float) -> pd.Series:
    """Which records come after the run's end: an interaction by the time it began, others by `t`."""
    began = frame["t"] - frame["latency_s"].fillna(0.0) if kind == "interactions" else frame["t"]
    return began > ended


def read_json_file(path: Path):
    if not path.is_file():
        raise BundleError(f"{path}: missing")
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as ex:
        raise BundleError(f"{path}: not valid JSON: {ex}") from ex
    except UnicodeDecodeError as ex:
        raise BundleError(f"{path}: not UTF-8 text: {ex}") from ex


def read_run(path: Path) -> dict:
    run = read_json_file(path)
    if not isinstance(run, dict):
        raise BundleError(f"{path}: expected a JSON object, found {type(run).__name__}")
    version = run.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BundleError(
            f"{path}: schema_version {version!r} is not supported (this report reads {SCHEMA_VERSION})"
        )
    missing = [key for key in RUN_KEYS if key not in run]
    if missing:
        raise BundleError(f"{path}: missing keys: {', '.join(missing)}")
    for key in ("started_at", "ended_at", "stopped_at"):
        try:
            pd.Timestamp(run[key])
        except (ValueError, TypeError) as ex:
            raise BundleError(f"{path}: {key} is not an ISO 8601 time: {run[key]!r}") from ex
    return run


def read_tasks(path: Path) -> pd.DataFrame:
    tasks = read_json_file(path)
    if not isinstance(tasks, list) or not all(isinstance(task, dict) for task in tasks):
        raise BundleError(f"{path}: expected a JSON list of task objects")
    for index, task in enumerate(tasks):
        missing = [key for key in TASK_KEYS if key not in task]
        if missing:
            raise BundleError(f"{path}: task [{index}] lacks keys: {', '.join(missing)}")
    frame = pd.DataFrame(tasks, columns=[*TASK_KEYS, *OPTIONAL_TASK_KEYS])
    for column in ("created_at", "updated_at", "container_started_at", "container_finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce", format="ISO8601")
    # The shape of a log tail is not fixed: accept a list of lines or one string.
    frame["logs_tail"] = [
        "\n".join(map(str, logs)) if isinstance(logs, list) else (logs or "") for logs in frame["logs_tail"]
    ]
    return frame


def is_empty(path: Path) -> bool:
    """Whether a table holds no record; reading it with the gzip module gives clear messages for
    files that are not gzip at all."""
    try:
        with gzip.open(path, "rb") as stream:
            return not any(line.strip() for line in stream)
    except (OSError, EOFError, zlib.error) as ex:
        raise BundleError(f"{path}: not a readable gzip file: {ex}") from ex


def lines(path: Path):
    """(line number, bytes) of each non-blank line of a table; a corrupt gzip file is a BundleError."""
    try:
        with gzip.open(path, "rb") as stream:
            for number, line in enumerate(stream, 1):
                if line.strip():
                    yield number, line
    except (EOFError, zlib.error, OSError) as ex:
        raise BundleError(f"{path}: truncated or corrupt gzip file ({ex})") from ex


def checked(numbered, kind: str, refused: SetAside) -> list[dict]:
    """The records of (line number, line) pairs checked against their kind's model
    (contract.records): the valid ones; what was not is added to `refused`, by line and field."""
    valid = []
    for number, line in numbered:
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as ex:
            refused.add(number, None, f"not valid JSON ({ex})")
            continue
        wrong = records.problem(kind, record)
        if wrong:
            refused.add(number, *wrong)
        else:
            valid.append(record)
    return valid


def fast_table(source, kind: str, schema: pa.Schema) -> pa.Table | None:
    """The records of a file (or bytes stream) through pyarrow's fast reader, or None when a record
    is not of its kind's model (a line that is not JSON, a wrong type, a field that must not be
    null is null or missing)."""
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        table = pa_json.read_json(source, parse_options=options)
    except (pa.ArrowInvalid, OSError):
        return None
    if any(table.column(name).null_count for name in (*COMMON_FIELDS, *records.REQUIRED[kind])):
        return None
    return table


def chunked(path: Path, kind: str, schema: pa.Schema, refused: SetAside) -> pa.Table:
    """A table the fast reader refused, CHUNK_LINES lines at a time: chunks it reads are kept as
    they are, only the others are checked record by record (a few bad lines among a million
    must not make the whole table slow)."""
    parts, chunk = [], []

    def flush():
        table = fast_table(io.BytesIO(b"".join(line for _, line in chunk)), kind, schema)
        if table is None:
            table = pa.Table.from_pylist(checked(chunk, kind, refused), schema=schema)
        parts.append(table)
        chunk.clear()

    for numbered in lines(path):
        chunk.append(numbered)
        if len(chunk) == CHUNK_LINES:
            flush()
    if chunk:
        flush()
    return pa.concat_tables(parts)


def read_table(path: Path, kind: str) -> tuple[pd.DataFrame, SetAside | None]:
    """The valid records of a table, and what was set aside (None when every record is valid)."""
    if not path.is_file():
        raise BundleError(
            f"{path}: missing (a kind with no records is an empty gzip file, never a missing one)"
        )
    fields = {**COMMON_FIELDS, **FIELDS[kind]}
    if is_empty(path):
        return empty_frame(fields), None
    refused = SetAside(path)
    if kind in FREE_FORM:
        # Few records, read with the json module: each says which line and which field is wrong.
        valid = checked(lines(path), kind, refused)
        frame = free_form_frame(valid, fields) if valid else empty_frame(fields)
    else:
        schema = pa.schema([(name, kind_type) for name, kind_type in fields.items()])
        table = fast_table(path, kind, schema)
        if table is None:
            table = chunked(path, kind, schema, refused)
        frame = table.to_pandas(strings_to_categorical=True) if table.num_rows else empty_frame(fields)
    return frame, (refused if refused.count else None)


def free_form_frame(valid: list[dict], fields: dict) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(valid)
    for name in fields.keys() - set(frame.columns):  # a field that may be absent, absent everywhere
        frame[name] = None
    for name, kind_type in fields.items():
        if kind_type is not None and pa.types.is_string(kind_type):
            frame[name] = frame[name].astype("category")
        elif kind_type is not None:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    if "value" in fields:
        # An app metric's value is a number or null; anything else cannot be plotted.
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def empty_frame(fields: dict) -> pd.DataFrame:
    """A table with no records but the columns (and types) of its kind, so sections need no special case."""
    columns = {}
    for name, kind_type in fields.items():
        if kind_type is None:
            columns[name] = pd.Series([], dtype=object)
        elif pa.types.is_string(kind_type):
            columns[name] = pd.Series([], dtype="category")
        else:
            columns[name] = pd.Series([], dtype=kind_type.to_pandas_dtype())
    return pd.DataFrame(columns)
