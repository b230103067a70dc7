"""The records writer shared by every role: batches records into its service's Redis streams.

`write()` only serialises the record and appends it to an in-memory queue, so the caller (an
event loop, a packet counter) never waits on Redis. A background thread sends the queue in
batches. While Redis is unreachable the queue is bounded; what does not fit is counted per kind
and reported as `drops` records once Redis is back, so nothing is lost silently.

Exactly once across Redis restarts: a batch is sent as one Lua script that appends its records
and, in the same atomic step, stores the batch's sequence number under the writer's id (in its
service's `batches` hash: each service writes only its own keys, contract.acl). If the
connection breaks after Redis ran the script but before the reply arrived, the retry finds its
sequence number already stored and adds nothing. (Durability of what Redis acknowledged is the
store's job: the store role runs with `appendfsync always`.)
"""

import json
import logging
import threading
import time
import uuid
from collections import Counter, deque

import redis

from wotemu_runtime.config import task_name
from wotemu_runtime.contract import keys, records
from wotemu_runtime.contract.records import UNSTORED_MARK
from wotemu_runtime.metrics import store

log = logging.getLogger(__name__)


# KEYS = [batches hash, stream of record 1, stream of record 2, ...]
# ARGV = [writer id, batch sequence number, record 1 JSON, record 2 JSON, ...]
_APPEND_BATCH = """
local done = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if done >= tonumber(ARGV[2]) then
  return 0
end
for i = 2, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'r', ARGV[i + 1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class MetricsWriter:
    """Non-blocking, thread-safe writer of records to its service's `wotemu:<run_id>:rec:<service>:<kind>`."""

    def __init__(
        self,
        config: dict,
        *,
        buffer_max: int = 50_000,
        buffer_max_bytes: int = 16 * 1024**2,
        batch_max: int = 500,
        flush_interval_s: float = 0.5,
        max_backoff_s: float = 5.0,
    ):
        self._config = config
        self._base = {"run_id": config["run_id"], "service": config["service"], "task": task_name()}
        self._buffer_max = buffer_max
        # Bounded in bytes too (queued and in flight): a node's memory limit may be 150 MB, and an
        # app's records can be big.
        self._buffer_max_bytes = buffer_max_bytes
        self._queued_bytes = 0
        self._batch_max = batch_max
        self._flush_interval_s = flush_interval_s
        self._max_backoff_s = max_backoff_s
        self._writer_id = uuid.uuid4().hex
        self._seq = 0
        self._lock = threading.Lock()
        self._queue: deque[tuple[str, str]] = deque()  # (kind, record JSON)
        self._drops_unreported: Counter[str] = Counter()
        self._inflight: tuple[int, list[tuple[str, str]]] | None = None
        self._closed = False
        self.written: Counter[str] = Counter()  # records Redis has stored, per kind
        self.dropped: Counter[str] = Counter()  # records never sent, per kind (reported as `drops`)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._abandon = threading.Event()
        self._redis = store.connect(config)
        self._append_batch = self._redis.register_script(_APPEND_BATCH)
        self._thread = threading.Thread(target=self._run, name="metrics-writer", daemon=True)
        self._thread.start()

    def write(self, kind: str, ago_s: float = 0.0, **fields) -> None:
        """Queue one record of what happened `ago_s` seconds ago; never blocks on Redis. Values that
        JSON cannot hold are stored as strings; fields the contract does not know are refused."""
        unknown = records.unknown_fields(kind, fields)
        if unknown:
            raise ValueError(f"a {kind!r} record cannot carry {unknown} (wotemu_runtime.contract.records)")
        record = {**fields, **self._base, "t": time.time() - ago_s, "mono": time.monotonic() - ago_s}
        line = json.dumps(record, default=str)
        with self._lock:
            if (
                self._closed
                or len(self._queue) >= self._buffer_max
                or self._queued_bytes + len(line) > self._buffer_max_bytes
            ):
                self._drops_unreported[kind] += 1
                self.dropped[kind] += 1
                return
            self._queue.append((kind, line))
            self._queued_bytes += len(line)
            full = len(self._queue) >= self._batch_max
        if full:
            self._wake.set()

    def close(self, timeout: float = 10.0) -> int:
        """Stop accepting records, send what is queued within `timeout`; return how many were not sent."""
        with self._lock:
            self._closed = True
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abandon.set()
            self._thread.join(1.0)
        with self._lock:
            unstored = Counter(kind for kind, _ in self._queue)
            unstored.update(self._drops_unreported)
            # A batch still in flight may have been stored with its reply lost: counted here, it
            # is counted twice rather than lost. Its `drops` records carry counts of their own.
            for kind, line in self._inflight[1] if self._inflight else ():
                if kind == "drops":
                    dropped = json.loads(line)
                    unstored[dropped["kind"]] += dropped["count"]
                else:
                    unstored[kind] += 1
        if unstored:
            # Redis cannot be told: the container's log can, and the stop phase reads it into run.json.
            log.error("%s%s", UNSTORED_MARK, json.dumps(dict(sorted(unstored.items()))))
        self._redis.close()
        return unstored.total()

    def _next_batch(self) -> tuple[int, list[tuple[str, str]]] | None:
        with self._lock:
            batch = [
                (
                    "drops",
                    json.dumps(
                        {
                            "kind": kind,
                            "count": count,
                            **self._base,
                            "t": time.time(),
                            "mono": time.monotonic(),
                        }
                    ),
                )
                for kind, count in self._drops_unreported.items()
            ]
            self._drops_unreported.clear()
            while self._queue and len(batch) < self._batch_max:
                batch.append(self._queue.popleft())
        if not batch:
            return None
        self._seq += 1
        return self._seq, batch

    def _send(self, seq: int, batch: list[tuple[str, str]]) -> None:
        run_id, service = self._config["run_id"], self._config["service"]
        streams = [keys.record_stream(run_id, service, kind) for kind, _ in batch]
        redis_keys = [keys.batches(run_id, service), *streams]
        self._append_batch(keys=redis_keys, args=[self._writer_id, seq, *(line for _, line in batch)])
        self.written.update(kind for kind, _ in batch)

    def _run(self) -> None:
        failures = 0
        while not self._abandon.is_set():
            if self._inflight is None:
                self._inflight = self._next_batch()
            if self._inflight is None:
                if self._closing.is_set():
                    return
                self._wake.wait(self._flush_interval_s)
                self._wake.clear()
                continue
            try:
                self._send(*self._inflight)
            except redis.RedisError as ex:
                failures += 1
                if failures == 1:
                    log.warning("Redis unreachable (%s); buffering records and retrying", ex)
                # Backoff grows to max_backoff_s; abandon (close timeout) interrupts it.
                self._abandon.wait(min(self._max_backoff_s, 0.1 * 2 ** min(failures, 10)))
                continue
            if failures:
                log.info("Redis reachable again after %d failed attempts", failures)
                failures = 0
            with self._lock:
                # Queued bytes are freed once stored (the batch in flight still holds its memory);
                # the `drops` records made in _next_batch were never queued.
                self._queued_bytes -= sum(len(line) for kind, line in self._inflight[1] if kind != "drops")
                self._inflight = None
