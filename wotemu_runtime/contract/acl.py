"""What each Redis ACL user of a run may do (design §8.3): the store creates these users at start.

Every service of the stack has its own user, named after the service, with its own password. Every
user is confined to the run's keys, has no Pub/Sub channel and no dangerous command (FLUSHALL,
CONFIG, KEYS, DEBUG...). Beyond that each role gets only what its code calls, and writes only its
own keys (contract.keys puts them under the service's name), so an app cannot forge, trim or
delete another service's records, nor speak for another service's tasks or another network:

* store: the control machine's commands run in the store's container (status, window, export):
  every ordinary command on the run's keys.
* gateway: announces its own network (`gw:<network>`), reads the window (its scenario's
  clock) and writes its records.
* node: reads the announcements and the window, marks its own tasks ready (`ready:<service>:*`),
  runs the fidelity probes of its networks (`probe:<network>:*`), writes its records; it can
  write no announcement and not the window, so an app cannot reroute the run's traffic.
* broker: reads the announcements and writes its records.

Records are written by one Lua script (metrics/writer.py) that appends to the writer's streams and
keeps its batch numbers; Redis checks every command a script calls against the caller's rules, so
the script gets no more than its caller.
"""

import re

from wotemu_runtime.contract import keys

# A name goes into glob patterns and the `ACL SETUSER` line: no glob character, space or ':'.
_LITERAL = re.compile(r"[A-Za-z0-9_-]+")


def _literal(name: str) -> str:
    if not _LITERAL.fullmatch(name):
        raise ValueError(f"{name!r} cannot name a Redis user or its keys: letters, digits, '_' and '-' only")
    return name


# The writer's script (EVALSHA, SCRIPT LOAD when Redis does not know it yet) and what it calls,
# in a selector of its own: these commands on the writer's keys only (no SET or DEL over a stream).
def _records(run_id: str, writer: str) -> list[str]:
    keys_ = f"~{keys.record_stream(run_id, writer, '*')} ~{keys.batches(run_id, writer)}"
    return ["+script|load", f"({keys_} +evalsha +eval +hget +hset +xadd)"]


def rules(user: str, role: str, run_id: str, networks: list[str] = ()) -> list[str]:
    """The ACL rules of `user`, the service of `role` (after `on` and its password), in `ACL SETUSER`
    syntax. `networks`: a gateway's network (its announcement), a node's (its probes)."""
    user, networks = _literal(user), [_literal(network) for network in networks]
    common = ["resetkeys", "resetchannels", "-@all", "+ping"]
    if role == "store":
        return [*common, f"~{keys.key(run_id, '*')}", "+@all", "-@dangerous"]
    if role == "gateway":
        announcements = [f"~{keys.gateway(run_id, network)}" for network in networks]
        window = f"%R~{keys.window(run_id)}"  # its scenario's clock
        return [*common, *announcements, window, "+get", "+set", "+del", *_records(run_id, user)]
    reads = [f"%R~{keys.gateway(run_id, '*')}", f"%R~{keys.window(run_id)}", "+get"]
    if role == "node":
        # The fidelity probes (net/probe.py) of a network's nodes agree on peers and rounds there.
        probe_commands = "+hset +hget +hgetall +hdel +set +del +incrby"
        probe_keys = " ".join(f"~{keys.key(run_id, 'probe', network, '*')}" for network in networks)
        probes = [f"({probe_keys} {probe_commands})"] if networks else []
        ready = f"~{keys.ready(run_id, user, '*')}"
        return [*common, *reads, ready, "+set", *_records(run_id, user), *probes]
    if role == "broker":
        return [*common, *reads, *_records(run_id, user)]
    raise ValueError(f"no Redis role {role!r}")
