"""Invokes every action of a peer's Thing, then sleeps an exponential time of rate `lambd` per second.

`params` maps an action name to its input; an action mapped to null or false is skipped, one not
mentioned is invoked without input. Each call gives up after `timeout` seconds.
"""

import asyncio
import logging

log = logging.getLogger(__name__)


async def app(
    wot,
    conf,
    loop,
    servient_host: str,
    thing_id: str,
    params: dict | None = None,
    timeout: float = 300.0,
    lambd: float = 2.0,
):
    params = params or {}
    await conf.wait_node(servient_host, [thing_id])
    thing = await conf.consume_thing(wot, servient_host, thing_id)
    actions = [name for name in thing.td.actions if params.get(name, True) not in (None, False)]
    while True:
        for name in actions:
            try:
                await asyncio.wait_for(thing.invoke_action(name, params.get(name)), timeout)
            except Exception as ex:
                log.warning("invoke %s.%s failed: %s", thing_id, name, ex)
        await asyncio.sleep(conf.rng.expovariate(lambd))
