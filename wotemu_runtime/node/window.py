"""The end of the run, as the node sees it: from the window the deploy phase writes in the store."""

import asyncio
import logging
import time

import redis

from wotemu_runtime.control.window import read_window

log = logging.getLogger(__name__)

POLL_S = 1.0


class RunEnd:
    """The run's end as the node's calls check it: `over()` once the window's end has passed on the
    wall clock. Checked against the clock, not a flag a timer sets: a timer fires a loop wake-up
    late, and a call could start in between (seen: 0.3 ms past the end)."""

    def __init__(self):
        self.ends: float | None = None  # Unix seconds; none until the window has an end

    def over(self) -> bool:
        return self.ends is not None and time.time() >= self.ends


async def watch_run_end(config: dict, run_end: RunEnd) -> None:
    """Give `run_end` the window's end once it has one (a manual run gets its end at the stop), and
    log when it passes."""
    while True:
        try:
            window = await asyncio.to_thread(read_window, config)
        except redis.RedisError as ex:  # the store may restart: the window is in its append-only file
            log.warning("cannot read the run's window yet: %s", ex)
            window = None
        if window is not None and window["ends"] is not None:
            break
        await asyncio.sleep(POLL_S)
    run_end.ends = window["ends"]
    await asyncio.sleep(max(0.0, run_end.ends - time.time()))
    log.info("the run has ended: no new interaction starts")
