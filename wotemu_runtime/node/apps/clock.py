"""Exposes `urn:wotemu:clock`: property `time` (Unix ms, read-only, observable) and the events
`timeEvent` (Unix ms) and `dateEvent` (ISO 8601 string), updated and emitted every `interval` s."""

import asyncio
import datetime
import json
import time

TD = {
    "@context": "https://www.w3.org/2019/wot/td/v1",
    "id": "urn:wotemu:clock",
    "title": "clock",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
    "security": "nosec_sc",
    "properties": {"time": {"type": "integer", "readOnly": True, "observable": True}},
    "events": {"timeEvent": {"data": {"type": "integer"}}, "dateEvent": {"data": {"type": "string"}}},
}


async def app(wot, conf, loop, interval: float = 2.0):
    thing = wot.produce(json.dumps(TD))
    await thing.write_property("time", int(time.time() * 1000))
    thing.expose()
    while True:
        now = time.time()
        await thing.write_property("time", int(now * 1000))
        thing.emit_event("timeEvent", int(now * 1000))
        thing.emit_event("dateEvent", datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat())
        await asyncio.sleep(interval)
