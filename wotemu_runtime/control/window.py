"""The run's window in the store: when the experiment started and when it ends (design §8.3).

The deploy phase writes it once every node is ready (`wotemu window`, inside the store's
container); a manual run's window has no end until the stop phase writes one. Nodes read it and
start no interaction after the end, so that what the stop phase does (scaling services down, one
after the other) is never measured as the experiment.
"""

import json

from wotemu_runtime.contract import keys
from wotemu_runtime.metrics import store


def write_window(config: dict, started: float | None, ends: float | None) -> None:
    """`ends` None: a manual run, no end yet. `started` None: keep the one written at the start."""
    if started is None:
        started = (read_window(config) or {}).get("started")
    with store.connect(config) as client:
        client.set(keys.window(config["run_id"]), json.dumps({"started": started, "ends": ends}))


def read_window(config: dict, client=None) -> dict | None:
    """{"started", "ends"} in Unix seconds (`ends` None until a manual run is stopped), or None before
    the deploy phase has written it. `client`: a Redis client to reuse (one who polls often)."""
    if client is not None:
        value = client.get(keys.window(config["run_id"]))
    else:
        with store.connect(config) as client:
            value = client.get(keys.window(config["run_id"]))
    return None if value is None else json.loads(value)
