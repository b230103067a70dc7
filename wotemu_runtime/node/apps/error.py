"""Fails on purpose: sleeps an exponential time of mean `mean_time` seconds, then raises.
It exercises the failure path: the error is recorded and the task exits non-zero."""

import asyncio


class DeliberateError(RuntimeError):
    """What this app raises."""


async def app(wot, conf, loop, mean_time: float = 300.0):
    delay = conf.rng.expovariate(1.0 / mean_time)
    await asyncio.sleep(delay)
    raise DeliberateError(f"the error app fails on purpose after {delay:.1f} s")
