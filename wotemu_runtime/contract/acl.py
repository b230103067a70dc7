"""What each Redis ACL user of a run may do (design §8.3): the store creates these users at start.

Every user is confined to the run's keys, has no Pub/Sub channel and no dangerous command
(FLUSHALL, CONFIG, KEYS, DEBUG...). Beyond that each role gets only what its code calls:

* store: the control machine's commands run in the store's container (status, window, export):
  every ordinary command on the run's keys.
* gateway: announces its network (`gw:*`) and writes records.
* node: reads the announcements and the window, marks its tasks ready, writes records; it can
  write no announcement and not the window, so an app cannot reroute the run's traffic.
* broker: reads the announcements and writes records.

Records are written by one Lua script (metrics/writer.py) that appends to the record streams and
keeps each writer's batch number in `writers`; Redis checks every command a script calls against
the caller's rules, so the script gets no more than its caller.
"""

from wotemu_runtime.contract import keys

# The writer's script: EVALSHA, SCRIPT LOAD when Redis does not know it yet, and what it calls.
_WRITE_RECORDS = ["+evalsha", "+eval", "+script|load", "+hget", "+hset", "+xadd"]


def rules(user: str, run_id: str) -> list[str]:
    """The ACL rules of `user` (after `on` and its password), in `ACL SETUSER` syntax."""
    records = [f"~{keys.record_stream(run_id, '*')}", f"~{keys.writers(run_id)}"]
    announcements = keys.gateway(run_id, "*")
    common = ["resetkeys", "resetchannels", "-@all", "+ping"]
    if user == "store":
        return [*common, f"~{keys.key(run_id, '*')}", "+@all", "-@dangerous"]
    if user == "gateway":
        return [*common, f"~{announcements}", *records, "+get", "+set", "+del", *_WRITE_RECORDS]
    reads = [f"%R~{announcements}", f"%R~{keys.window(run_id)}", "+get"]
    if user == "node":
        return [*common, *reads, f"~{keys.ready(run_id, '*')}", *records, "+set", *_WRITE_RECORDS]
    if user == "broker":
        return [*common, *reads, *records, *_WRITE_RECORDS]
    raise ValueError(f"no Redis user {user!r}")
