"""An app that refuses to be cancelled and keeps writing metrics: the worst case for a node's stop."""

import asyncio


async def app(wot, conf, loop):
    index = 0
    while True:
        try:
            conf.write_metric("tick", index)
            index += 1
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            continue  # deaf to the stop
