"""Test app: writes `count` app metrics at `rate` per second, then a file saying how many it wrote."""

import asyncio
from pathlib import Path


async def app(wot, conf, loop, count: int, rate: float, done_file: str):
    for index in range(count):
        conf.write_metric("sequence", index, batch="redis-restart")
        await asyncio.sleep(1.0 / rate)
    Path(done_file).write_text(str(count))
