"""Subscribes to every observable property and every event of a peer's Thing.

When a subscription fails, all of them are disposed (synchronously: the upstream app forgot to
await its clean-up, so old subscriptions leaked) and made again after a pause.
"""

import asyncio
import logging

log = logging.getLogger(__name__)

RESUBSCRIBE_PAUSE_S = 2.0


async def app(wot, conf, loop, servient_host: str, thing_id: str):
    await conf.wait_node(servient_host, [thing_id])
    thing = await conf.consume_thing(wot, servient_host, thing_id)
    observable = [name for name, prop in thing.td.properties.items() if prop.to_dict().get("observable")]
    while True:
        failed = asyncio.Event()

        def on_error(ex, failed=failed):
            log.warning("subscription to %s failed: %s", thing_id, ex)
            loop.call_soon_threadsafe(failed.set)

        subscriptions = [thing.properties[name].subscribe(on_error=on_error) for name in observable]
        subscriptions += [thing.events[name].subscribe(on_error=on_error) for name in thing.td.events]
        try:
            await failed.wait()
        finally:
            for subscription in subscriptions:
                subscription.dispose()
        await asyncio.sleep(RESUBSCRIBE_PAUSE_S)
