"""Finding, loading and checking a node's app: `async def app(wot, conf, loop, **params)`.

The source is a built-in name, a file path, or an https URL; a sha256 pin, when given, must
match. Params come from the topology as YAML values and keep their types: they are checked
against the app's signature (annotations, else the defaults' types) instead of being converted.
"""

import hashlib
import importlib.util
import inspect
import tempfile
import types
import typing
import urllib.error
import urllib.request
from pathlib import Path

BUILTIN_DIR = Path(__file__).resolve().parent / "apps"
_FIXED_ARGS = 3  # wot, conf, loop
_DOWNLOAD_TIMEOUT_S = 60
# An app is a Python file: the topology's own files are bounded at 1 MiB, and so is a download
# (an endless or huge response would otherwise fill the node's memory before anything checks it).
MAX_APP_BYTES = 1024**2


class AppError(Exception):
    """The app cannot be loaded or called as configured; the message says why."""


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.py") if not p.name.startswith("_"))


def _check_digest(data: bytes, expected: str | None, source: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if expected and actual != expected.lower():
        raise AppError(f"{source}: sha256 mismatch: expected {expected}, got {actual}; refusing to run it")


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to https only: a redirect to plain http would undo the https the user asked for."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.startswith("https://"):
            raise AppError(
                f"{req.full_url}: redirected to {newurl}, which is not https; refusing to follow it"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _download(url: str, sha256: str | None) -> Path:
    if not url.startswith("https://"):
        raise AppError(f"{url}: apps are only fetched over https (a plain-http app could be tampered with)")
    opener = urllib.request.build_opener(_HttpsOnlyRedirects)
    try:
        with opener.open(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
            data = response.read(MAX_APP_BYTES + 1)  # one byte more tells a file over the bound
    except (urllib.error.URLError, OSError) as ex:
        raise AppError(f"{url}: cannot download the app: {getattr(ex, 'reason', ex)}") from ex
    if len(data) > MAX_APP_BYTES:
        raise AppError(f"{url}: the app is larger than {MAX_APP_BYTES:,} bytes; refusing it")
    _check_digest(data, sha256, url)
    path = Path(tempfile.mkdtemp(prefix="wotemu-app-")) / "app.py"
    path.write_bytes(data)
    return path


def resolve_source(app_conf: dict) -> Path:
    """The local file holding the app described by the node config's `app` entry."""
    if app_conf.get("builtin"):
        name = app_conf["builtin"]
        if name not in builtin_names():
            raise AppError(f"unknown built-in app {name!r}; built-ins are: {', '.join(builtin_names())}")
        return BUILTIN_DIR / f"{name}.py"
    if app_conf.get("url"):
        return _download(app_conf["url"], app_conf.get("sha256"))
    if app_conf.get("path"):
        path = Path(app_conf["path"])
        if not path.is_file():
            raise AppError(f"{path}: app file not found")
        _check_digest(path.read_bytes(), app_conf.get("sha256"), str(path))
        return path
    raise AppError("the node config's `app` has none of `builtin`, `path`, `url`")


def load_app(path: Path):
    """Import the file and return its `app` coroutine function."""
    spec = importlib.util.spec_from_file_location(f"wotemu_app_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as ex:
        raise AppError(f"{path}: importing the app failed: {type(ex).__name__}: {ex}") from ex
    func = getattr(module, "app", None)
    if func is None:
        raise AppError(f"{path}: no `app` function (expected `async def app(wot, conf, loop, **params)`)")
    if not inspect.iscoroutinefunction(func):
        raise AppError(
            f"{path}: `app` must be a coroutine function (`async def app(wot, conf, loop, **params)`)"
        )
    return func


def _matches(value, expected) -> bool:
    """Whether a YAML-typed value fits a type annotation (int is accepted for float, bool is not an int)."""
    if expected is typing.Any or expected is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if origin is not None:
        expected = origin  # list[int] -> list: items are the app's business
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected) if isinstance(expected, type) else True


def _type_name(expected) -> str:
    return getattr(expected, "__name__", None) or str(expected)


def check_params(func, params: dict, source: str) -> None:
    """Fail with one message listing every param that is unknown, missing or of the wrong type."""
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable annotations: fall back to the defaults' types
        hints = {}
    declared = list(signature.parameters.values())[_FIXED_ARGS:]
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in declared)
    named = {p.name: p for p in declared if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    problems = []
    for name, value in params.items():
        param = named.get(name)
        if param is None:
            if not accepts_any:
                problems.append(f"unknown param {name!r} (the app takes: {', '.join(named) or 'none'})")
            continue
        expected = hints.get(name, param.annotation)
        if expected is inspect.Parameter.empty and param.default not in (inspect.Parameter.empty, None):
            expected = type(param.default)
        if not _matches(value, expected):
            problems.append(
                f"param {name!r} must be {_type_name(expected)}, got {type(value).__name__} {value!r}"
            )
    for name, param in named.items():
        if param.default is inspect.Parameter.empty and name not in params:
            problems.append(f"missing required param {name!r}")
    if problems:
        raise AppError(f"{source}: " + "; ".join(problems))
