"""What each Redis ACL user of a run may do (design §8.3): the store creates these users at start.

Every user is confined to the run's keys, has no Pub/Sub channel and no dangerous command
(FLUSHALL, CONFIG, KEYS, DEBUG...). Beyond that each role gets only what its code calls:

* store: the control machine's commands run in the store's container (status, window, export):
  every ordinary command on the run's keys.
* gateway: announces its network (`gw:*`), reads the window (its scenario's clock), writes records.
* node: reads the announcements and the window, marks its tasks ready, runs the fidelity probes
  (`probe:*`), writes records; it can write no announcement and not the window, so an app cannot
  reroute the run's traffic.
* broker: reads the announcements and writes records.

Records are written by one Lua script (metrics/writer.py) that appends to the record streams and
keeps each writer's batch number in `writers`; Redis checks every command a script calls against
the caller's rules, so the script gets no more than its caller.
"""

from wotemu_runtime.contract import keys


# The writer's script (EVALSHA, SCRIPT LOAD when Redis does not know it yet) and what it calls,
# in a selector of its own: these commands on these keys only (no SET or DEL over a stream).
def _records(run_id: str) -> list[str]:
    keys_ = f"~{keys.record_stream(run_id, '*')} ~{keys.writers(run_id)}"
    return ["+script|load", f"({keys_} +evalsha +eval +hget +hset +xadd)"]


def rules(user: str, run_id: str) -> list[str]:
    """The ACL rules of `user` (after `on` and its password), in `ACL SETUSER` syntax."""
    announcements = keys.gateway(run_id, "*")
    common = ["resetkeys", "resetchannels", "-@all", "+ping"]
    if user == "store":
        return [*common, f"~{keys.key(run_id, '*')}", "+@all", "-@dangerous"]
    if user == "gateway":
        window = f"%R~{keys.window(run_id)}"
        return [*common, f"~{announcements}", window, "+get", "+set", "+del", *_records(run_id)]
    reads = [f"%R~{announcements}", f"%R~{keys.window(run_id)}", "+get"]
    if user == "node":
        # The fidelity probes (net/probe.py) of the nodes agree on peers and rounds under `probe:*`.
        probe_commands = "+hset +hget +hgetall +hdel +set +del +incrby"
        probes = f"(~{keys.key(run_id, 'probe', '*')} {probe_commands})"
        return [*common, *reads, f"~{keys.ready(run_id, '*')}", "+set", *_records(run_id), probes]
    if user == "broker":
        return [*common, *reads, *_records(run_id)]
    raise ValueError(f"no Redis user {user!r}")
