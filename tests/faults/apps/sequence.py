"""Fault-test app: a numbered `sequence` metric every 1/rate s; once cancelled (the stop), one
`produced` metric saying how many it numbered, so that every record can be accounted for."""

import asyncio


async def app(wot, conf, loop, rate: float):
    produced = 0
    try:
        while True:
            conf.write_metric("sequence", produced)
            produced += 1
            await asyncio.sleep(1.0 / rate)
    finally:
        conf.write_metric("produced", produced)
