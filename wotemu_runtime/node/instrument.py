"""Recording every WoT interaction of the node: `interactions` and `events` records (design §8.3).

Consumer side: `Servient.select_client` is the one place every ConsumedThing call goes through,
and it knows the protocol; the servient returns a timing proxy around the chosen client.
Producer side: an ExposedThing subclass installed with `WoT.set_exposed_thing_class`; every
binding's server handler ends in its methods, but none tells which protocol the call came in on.
"""

import asyncio
import time

import reactivex
from reactivex import operators as ops
from wotpy.wot.exposed.thing import ExposedThing
from wotpy.wot.servient import Servient

from wotemu_runtime.contract.ports import WOTPY_PROTOCOLS
from wotemu_runtime.node import wotpy_fixes
from wotemu_runtime.node.window import RunEnd


def _error_text(ex: BaseException) -> str:
    return f"{type(ex).__name__}: {ex}"


async def _timed(writer, coro, fields: dict):
    """Await `coro`, writing one `interactions` record with its latency and outcome."""
    token = wotpy_fixes.teardown_started.set(None)
    start = time.perf_counter()
    error = None
    try:
        return await coro
    except BaseException as ex:
        error = _error_text(ex)
        raise
    finally:
        # Stop the clock where the client began tearing down, when it told us (see wotpy_fixes).
        # The reset keeps a nested call's mark (an action handler consuming another Thing) from
        # stopping the enclosing call's clock.
        now = time.perf_counter()
        end = wotpy_fixes.teardown_started.get() or now
        wotpy_fixes.teardown_started.reset(token)
        # Timed at the end of the clock, so that `t - latency_s` is when the call began.
        writer.write(
            "interactions", ago_s=now - end, **fields, latency_s=end - start, ok=error is None, error=error
        )


def _observed(writer, observable, fields: dict):
    """`observable` with an `events` record on subscribe and on each item, error and completion."""

    def on_subscribe(observer, scheduler=None):
        writer.write("events", **fields, event="subscribe", error=None)
        return observable.pipe(
            ops.do_action(
                on_next=lambda _item: writer.write("events", **fields, event="next", error=None),
                on_error=lambda ex: writer.write("events", **fields, event="error", error=_error_text(ex)),
                on_completed=lambda: writer.write("events", **fields, event="completed", error=None),
            )
        ).subscribe(observer, scheduler=scheduler)

    return reactivex.create(on_subscribe)


class TimedClient:
    """A proxy around one protocol binding client that records what passes through it.

    Once the run is over (its end passed, see wotemu_runtime/node/window.py), a new call never
    starts: it waits until the stop cancels it, so no interaction of the teardown is measured.
    Calls already under way finish and are recorded.
    """

    def __init__(self, inner, writer, run_end: RunEnd):
        self._inner = inner
        self._writer = writer
        self._run_end = run_end
        self._protocol = WOTPY_PROTOCOLS[inner.protocol]

    async def _call(self, start, fields: dict):
        if self._run_end.over():
            await asyncio.get_running_loop().create_future()  # never resolved: cancelled by the stop
        return await _timed(self._writer, start(), fields)

    def __getattr__(self, attr):
        return getattr(self._inner, attr)

    def _fields(self, td, verb: str, name: str) -> dict:
        return {
            "side": "consumer",
            "protocol": self._protocol,
            "thing_id": td.id,
            "thing_title": td.title,
            "verb": verb,
            "name": name,
        }

    def read_property(self, td, name, **kwargs):
        fields = self._fields(td, "readproperty", name)
        return self._call(lambda: self._inner.read_property(td, name, **kwargs), fields)

    def write_property(self, td, name, value, **kwargs):
        fields = self._fields(td, "writeproperty", name)
        return self._call(lambda: self._inner.write_property(td, name, value, **kwargs), fields)

    def invoke_action(self, td, name, input_value, **kwargs):
        fields = self._fields(td, "invokeaction", name)
        return self._call(lambda: self._inner.invoke_action(td, name, input_value, **kwargs), fields)

    def on_event(self, td, name, **kwargs):
        observable = self._inner.on_event(td, name, **kwargs)
        return _observed(self._writer, observable, self._fields(td, "subscribeevent", name))

    def on_property_change(self, td, name, **kwargs):
        observable = self._inner.on_property_change(td, name, **kwargs)
        return _observed(self._writer, observable, self._fields(td, "observeproperty", name))


class TimedServient(Servient):
    """A servient whose consumed interactions are recorded through `writer`."""

    def __init__(self, writer, **kwargs):
        super().__init__(**kwargs)
        self.metrics_writer = writer
        self.run_end = RunEnd()

    def select_client(self, td, name):
        return TimedClient(super().select_client(td, name), self.metrics_writer, self.run_end)


class TimedExposedThing(ExposedThing):
    """An ExposedThing recording the interactions it serves (protocol unknown here: null)."""

    def __init__(self, servient, thing):
        super().__init__(servient, thing)
        # Thing.id and Thing.title rebuild the whole Thing description on each access (~3 ms
        # for a small Thing): read them once, not on every request served.
        self._record_ids = {"thing_id": thing.id, "thing_title": thing.title}

    def _fields(self, verb: str, name: str) -> dict:
        return {"side": "producer", "protocol": None, **self._record_ids, "verb": verb, "name": name}

    @property
    def _writer(self):
        return self.servient.metrics_writer

    def read_property(self, name):
        return _timed(self._writer, super().read_property(name), self._fields("readproperty", name))

    def handle_write_property(self, name, value):
        # Remote writes only: the app's own writes to its Thing are not interactions.
        coro = super().handle_write_property(name, value)
        return _timed(self._writer, coro, self._fields("writeproperty", name))

    def invoke_action(self, name, input_value=None):
        coro = super().invoke_action(name, input_value)
        return _timed(self._writer, coro, self._fields("invokeaction", name))

    def emit_event(self, event_name, payload):
        self._writer.write("events", **self._fields("emitevent", event_name), event="emit", error=None)
        return super().emit_event(event_name, payload)
