"""Reads every readable property of a peer's Thing in turn, then sleeps `interval` seconds.

Failed reads are recorded by the instrumentation and the reader carries on: it measures the
network, it does not give up on it. With a `timeout`, a read still unanswered after that many
seconds is given up and recorded as failed (a network cut off shows as failures, not as one read
hanging for the whole cut); 0 waits as long as the protocol's client does.
"""

import asyncio
import logging

log = logging.getLogger(__name__)


async def app(
    wot, conf, loop, servient_host: str, thing_id: str, interval: float = 5.0, timeout: float = 0.0
):
    await conf.wait_node(servient_host, [thing_id])
    thing = await conf.consume_thing(wot, servient_host, thing_id)
    names = [name for name, prop in thing.td.properties.items() if not prop.to_dict().get("writeOnly")]
    while True:
        for name in names:
            try:
                await asyncio.wait_for(thing.read_property(name), timeout or None)
            except Exception as ex:
                log.warning("read %s.%s failed: %s", thing_id, name, ex)
        await asyncio.sleep(interval)
