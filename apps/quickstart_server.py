"""The quickstart's server: a simulated thermostat, `urn:wotemu:quickstart:thing`.

Properties `temperature` (a random walk, observable) and `setpoint` (writable), the action
`adjust` (moves the setpoint by `delta`, returns the new value) and the event `overheat`
(emitted whenever the temperature passes the setpoint). The built-in reader polls it.
"""

import asyncio
import json

TD = {
    "@context": "https://www.w3.org/2019/wot/td/v1",
    "id": "urn:wotemu:quickstart:thing",
    "title": "quickstart-thermostat",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
    "security": "nosec_sc",
    "properties": {
        "temperature": {"type": "number", "readOnly": True, "observable": True},
        "setpoint": {"type": "number", "observable": True},
    },
    "actions": {
        "adjust": {
            "input": {"type": "object", "properties": {"delta": {"type": "number"}}},
            # An object, not a bare number: wotpy 0.18's HTTP and CoAP clients cannot read scalars.
            "output": {"type": "object", "properties": {"setpoint": {"type": "number"}}},
        }
    },
    "events": {"overheat": {"data": {"type": "number"}}},
}


async def app(wot, conf, loop, interval: float = 1.0, setpoint: float = 21.0):
    # The state lives here, not read back through the Thing: the node records reads of an
    # exposed Thing as served interactions, and these would be the app talking to itself.
    state = {"temperature": setpoint, "setpoint": setpoint}
    thing = wot.produce(json.dumps(TD))
    for name, value in state.items():
        await thing.write_property(name, value)

    async def write_setpoint(value):
        state["setpoint"] = float(value)

    async def adjust(params):
        state["setpoint"] += float((params or {}).get("delta", 0.0))
        await thing.write_property("setpoint", state["setpoint"])
        return {"setpoint": state["setpoint"]}

    async def read_setpoint():
        return state["setpoint"]

    thing.set_property_read_handler("setpoint", read_setpoint)
    thing.set_property_write_handler("setpoint", write_setpoint)
    thing.set_action_handler("adjust", adjust)
    thing.expose()
    while True:
        await asyncio.sleep(interval)
        state["temperature"] = round(state["temperature"] + conf.rng.gauss(0.0, 0.5), 2)
        await thing.write_property("temperature", state["temperature"])
        if state["temperature"] > state["setpoint"]:
            thing.emit_event("overheat", state["temperature"])
