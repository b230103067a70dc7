"""Test app: reads a peer Thing's property `reads` times over each protocol in turn.

Each protocol is forced by consuming a copy of the TD that keeps only that protocol's forms, so
the reads take the node's normal, instrumented path (Servient.select_client).
"""

import asyncio
import json

from wotemu_runtime.node import helpers

SCHEMES = {"http": ("http:",), "ws": ("ws:",), "coap": ("coap:",), "mqtt": ("mqtt:",)}


def only(td: dict, protocol: str) -> dict:
    td = json.loads(json.dumps(td))
    for kind in ("properties", "actions", "events"):
        for interaction in td.get(kind, {}).values():
            interaction["forms"] = [
                f for f in interaction["forms"] if f["href"].startswith(SCHEMES[protocol])
            ]
    return td


async def app(
    wot, conf, loop, servient_host: str, thing_id: str, prop: str, protocols: list, reads: int = 10
):
    host, port = servient_host.split(":")
    catalogue = await helpers.wait_node(host, [thing_id], port=int(port), interval=0.2)
    td = next(td for td in catalogue.values() if td["id"] == thing_id)
    for protocol in protocols:
        thing = wot.consume(json.dumps(only(td, protocol)))
        for _ in range(reads):
            await thing.read_property(prop)
            await asyncio.sleep(0.02)
