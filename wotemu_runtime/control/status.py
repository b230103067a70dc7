"""A run's progress as the store sees it: gateways shaping, node tasks ready so far, records.

Runs inside the store container (`docker exec ... wotemu status`): Redis is never published on a
host port, so the control machine asks from within the stack.
"""

import json
import time

import redis

from wotemu_runtime.contract import keys
from wotemu_runtime.metrics import store
from wotemu_runtime.metrics.export import record_streams

READY_CHECK_PERIOD_S = 0.2  # how soon a wait notices readiness: a few SCANs of small keys


def run_status(config: dict) -> dict:
    client = store.connect(config, decode_responses=True)
    gateways = {
        key.rsplit(":", 1)[-1]: json.loads(client.get(key) or "null")
        for key in client.scan_iter(keys.gateway(config["run_id"], "*"))
    }
    ready = sorted(key.rsplit(":", 1)[-1] for key in client.scan_iter(keys.ready(config["run_id"], "*", "*")))
    records = {
        kind: sum(client.xlen(stream) for stream in streams)
        for kind, streams in record_streams(client, config["run_id"]).items()
    }
    return {
        "gateways": {name: (value or {}).get("backend") for name, value in gateways.items()},
        "nodes_ready": len(ready),
        "tasks_ready": ready,
        "records": records,
        "records_total": sum(records.values()),
        "window": json.loads(
            client.get(keys.window(config["run_id"])) or "null"
        ),  # None until the run starts
    }


def wait_until_ready(config: dict, gateways: int, nodes: int, within: float) -> None:
    """Return as soon as `gateways` gateways shape and `nodes` nodes are ready, or after `within` s.

    The control machine then learns of readiness as it happens, not at its next poll.
    """
    client = store.connect(config, decode_responses=True)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            shaping = sum(1 for _ in client.scan_iter(keys.gateway(config["run_id"], "*")))
            ready = sum(1 for _ in client.scan_iter(keys.ready(config["run_id"], "*", "*")))
        except redis.RedisError:  # the store still starting: keep waiting, the status says the rest
            shaping = ready = -1
        if shaping >= gateways and ready >= nodes:
            return
        time.sleep(READY_CHECK_PERIOD_S)
