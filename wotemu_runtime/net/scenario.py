"""The gateway's side of the scenario: apply its network's actions on time, and record each one.

Times count from the run's window (control/window.py), which the deploy phase opens once every
node is ready; the gateway polls for it. At each start or end of an action the gateway puts the
timeline's state in force: new conditions through the shaper's live update, cut-off nodes
through the partition's rules, and writes a `scenario` record per action with its planned and
applied times. A gateway (re)started once the window is open begins with what is due now.
"""

import logging
import threading
import time
import traceback

import redis

from wotemu_runtime.control.window import read_window
from wotemu_runtime.metrics.store import connect
from wotemu_runtime.net.partition import Partition, addresses_of
from wotemu_runtime.net.shaping import Shaper
from wotemu_runtime.net.timeline import Boundary, State, Timeline, ms

log = logging.getLogger(__name__)

WINDOW_POLL_S = 0.05  # until the window opens: an action at 0 s is late by this much at most
ENDLESS_MS = 2**62  # a manual run's horizon: until the gateway stops


def window_or_none(config: dict, client=None) -> dict | None:
    try:
        return read_window(config, client)
    except redis.RedisError as ex:  # the store not up yet (a first start), or restarting
        log.info("cannot read the run's window yet: %s", ex)
        return None


def _diff(before: State, after: State) -> dict:
    """{key: [before, after]} of the conditions that changed."""
    return {k: [before.conditions[k], v] for k, v in after.conditions.items() if before.conditions[k] != v}


class ScenarioRunner:
    def __init__(self, config: dict, shaper: Shaper, partition: Partition, writer):
        self.config, self.shaper, self.partition, self.writer = config, shaper, partition, writer
        self.timeline = Timeline(config["netem"], config["scenario"])
        self.state = State(config["netem"], frozenset())
        self._thread: threading.Thread | None = None

    def due_now(self) -> dict:
        """The conditions to shape with from the start: the timeline's, if the window is already open."""
        window = window_or_none(self.config) if self.config["scenario"] else None
        if window is not None:
            self.state = State(
                self.timeline.state(ms(time.time() - window["started"])).conditions, frozenset()
            )
        return self.state.conditions

    def start(self, stop: threading.Event) -> None:
        if self.config["scenario"]:
            self._thread = threading.Thread(target=self._guarded, args=(stop,), name="scenario", daemon=True)
            self._thread.start()

    def join(self) -> None:
        if self._thread:
            self._thread.join()

    def _guarded(self, stop: threading.Event) -> None:
        """A scenario that cannot go on is an error of the run, recorded: the shaping itself goes on."""
        try:
            self._run(stop)
        except Exception:
            log.exception("the scenario stopped")
            self.writer.write("lifecycle", event="error", detail=traceback.format_exc())

    def _run(self, stop: threading.Event) -> None:
        with connect(self.config) as client:  # one connection for the polls, not one per poll
            window = window_or_none(self.config, client)
            while window is None:
                if stop.wait(WINDOW_POLL_S):
                    return
                window = window_or_none(self.config, client)
        started = window["started"]
        horizon = ENDLESS_MS if window["ends"] is None else ms(window["ends"] - started)
        now = ms(time.time() - started)
        if now >= 0 and self.timeline.active(now):  # restarted mid-scenario: what is due now
            resumed = [Boundary(now, action, "resume", start) for action, start in self.timeline.active(now)]
            self._apply(now, resumed, started)
        t = now
        while True:
            due = self.timeline.boundaries_after(t, horizon)
            if not due:
                return
            t = due[0].t_ms
            if stop.wait(max(0.0, started + t / 1000 - time.time())):
                return
            self._apply(t, due, started)

    def _apply(self, t_ms: int, boundaries: list[Boundary], started: float) -> None:
        state = self.timeline.state(t_ms)
        if state.conditions != self.state.conditions:
            self.shaper.update(state.conditions)
        if state.cut_off != self.state.cut_off:
            self.partition.cut_off(addresses_of(state.cut_off))
        applied = time.time()
        changed = _diff(self.state, state)
        self.state = state
        for boundary in boundaries:
            action = boundary.action
            planned = started + boundary.t_ms / 1000
            until = None if action["for_s"] is None else started + boundary.start_ms / 1000 + action["for_s"]
            self.writer.write(
                "scenario",
                network=self.config["network"],
                action=action["index"],
                action_type="netem" if action["netem"] else "partition",
                change=boundary.change,
                planned_t=planned,
                applied_t=applied,
                lateness_s=applied - planned,
                from_t=started + boundary.start_ms / 1000,
                until_t=until,
                changed=changed,
                cut_off=sorted(state.cut_off),
            )
            log.info(
                "scenario[%d] %s at %.3f s, %.1f ms late", action["index"], boundary.change,
                boundary.t_ms / 1000, 1000 * (applied - planned),
            )  # fmt: skip
