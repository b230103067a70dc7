"""The end of the run, as the node sees it: from the window the deploy phase writes in the store."""

import asyncio
import logging
import time

import redis

from wotemu_runtime.control.window import read_window

log = logging.getLogger(__name__)

POLL_S = 1.0


async def close_at_run_end(config: dict, run_over: asyncio.Event) -> None:
    """Set `run_over` at the run's end: once the window has an end, at its `ends` (Unix seconds)."""
    while True:
        try:
            window = await asyncio.to_thread(read_window, config)
        except redis.RedisError as ex:  # the store may restart: the window is in its append-only file
            log.warning("cannot read the run's window yet: %s", ex)
            window = None
        if window is not None and window["ends"] is not None:  # a manual run gets its end at the stop
            break
        await asyncio.sleep(POLL_S)
    await asyncio.sleep(max(0.0, window["ends"] - time.time()))
    log.info("the run has ended: no new interaction starts")
    run_over.set()
