"""Reading a results bundle (docs/design.md §8.4) into typed pandas frames.

Tables are parsed with pyarrow's multi-threaded JSON reader: for a million interaction records it
takes about 1 s, where `pandas.read_json` takes 14 s and a `json.loads` loop 8 s. Every problem
with the bundle is a `BundleError` whose message names the file and what is wrong with it.
"""

import gzip
import json
import zlib
from dataclasses import dataclass
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
FREE_FORM = {"app", "info", "probes"}

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
class Bundle:
    """A run's bundle. `tables` holds the records of the run itself, up to its end; what the stop
    phase recorded later is in `after_end` (shown apart, never in the run's figures)."""

    path: Path
    run: dict
    tasks: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    after_end: dict[str, pd.DataFrame]

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
    tables = {kind: read_table(path / f"{kind}.jsonl.gz", kind) for kind in KINDS}
    ended = pd.Timestamp(run["ended_at"]).timestamp()
    late = {kind: after(frame, kind, ended) for kind, frame in tables.items()}
    return Bundle(
        path,
        run,
        tasks,
        {kind: frame[~late[kind]] for kind, frame in tables.items()},
        {kind: frame[late[kind]] for kind, frame in tables.items()},
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


def first_record(path: Path, kind: str) -> dict | None:
    """The first record of a table (None if it is empty), checked for the fields of its kind.

    Reading it with the gzip module also gives clear messages for files that are not gzip at all.
    """
    try:
        with gzip.open(path, "rb") as stream:
            line = stream.readline()
    except (OSError, EOFError, zlib.error) as ex:
        raise BundleError(f"{path}: not a readable gzip file: {ex}") from ex
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as ex:
        raise BundleError(f"{path}: line 1: not valid JSON: {ex}") from ex
    if not isinstance(record, dict):
        raise BundleError(f"{path}: line 1: expected a JSON object")
    missing = [field for field in (*COMMON_FIELDS, *FIELDS[kind]) if field not in record]
    if missing:
        raise BundleError(f"{path}: {kind} records lack fields: {', '.join(missing)}")
    return record


def records(path: Path):
    """Each record of a table, parsed with the json module; errors name the line or the gzip problem."""
    number = 0
    try:
        with gzip.open(path, "rb") as stream:
            for line in stream:
                number += 1
                if line.strip():
                    yield json.loads(line)
    except (EOFError, zlib.error, OSError) as ex:
        raise BundleError(f"{path}: truncated or corrupt gzip file ({ex})") from ex
    except json.JSONDecodeError as ex:
        raise BundleError(f"{path}: line {number}: not valid JSON: {ex}") from ex


def diagnose(path: Path, cause: Exception) -> BundleError:
    """Find where a table that the fast reader rejected goes wrong, for a precise message."""
    try:
        for _ in records(path):
            pass
    except BundleError as ex:
        return ex
    return BundleError(f"{path}: cannot be read: {cause}")


def read_table(path: Path, kind: str) -> pd.DataFrame:
    if not path.is_file():
        raise BundleError(
            f"{path}: missing (a kind with no records is an empty gzip file, never a missing one)"
        )
    fields = {**COMMON_FIELDS, **FIELDS[kind]}
    if first_record(path, kind) is None:
        return empty_frame(fields)
    if kind in FREE_FORM:
        return read_free_form(path, fields)
    schema = pa.schema([(name, kind_type) for name, kind_type in fields.items()])
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        table = pa_json.read_json(path, parse_options=options)
    except (pa.ArrowInvalid, OSError) as ex:
        raise diagnose(path, ex) from ex
    return table.to_pandas(strings_to_categorical=True)


def read_free_form(path: Path, fields: dict) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(records(path)))
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
