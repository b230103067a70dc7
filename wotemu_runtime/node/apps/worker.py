"""Exposes `urn:wotemu:worker` with the action `doWork`, which keeps the CPU busy.

Input (all optional): `total` seconds of CPU work, done in slices of `step` seconds with `sleep`
seconds between them (so the servient still answers other requests), and `return`, echoed back.
The result is an object (`{"ret": ...}`): wotpy's HTTP and CoAP clients cannot read scalar results.
"""

import asyncio
import json
import time

TD = {
    "@context": "https://www.w3.org/2019/wot/td/v1",
    "id": "urn:wotemu:worker",
    "title": "worker",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
    "security": "nosec_sc",
    "actions": {
        "doWork": {
            # {step, total, sleep: numbers, return: anything}; wotpy cannot describe an untyped member.
            "input": {"type": "object"},
            "output": {"type": "object"},
        }
    },
}


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


async def do_work(params):
    params = params or {}
    step, total, pause = (
        float(params.get("step", 0.5)),
        float(params.get("total", 3.0)),
        float(params.get("sleep", 0.1)),
    )
    done = 0.0
    while done < total:
        _burn(min(step, total - done))
        done += step
        await asyncio.sleep(pause)
    return {"ret": params.get("return")}


async def app(wot, conf, loop):
    thing = wot.produce(json.dumps(TD))
    thing.set_action_handler("doWork", do_work)
    thing.expose()
