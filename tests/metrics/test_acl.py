"""Each service's Redis user (contract.acl) can do what its code does and nothing an app could abuse,
and writes only its own keys: no service can forge, trim or delete another's records, speak for its
tasks, or announce another network.

One real redis-server, started by the store role itself (`python -m wotemu_runtime store`, the code
path a stack runs), with one user per service and their passwords from files; each role's clients
are the project's own (the writer, the announcer, status, window, export).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.conftest import require_command
from wotemu_runtime.contract import keys
from wotemu_runtime.control.status import run_status
from wotemu_runtime.control.window import read_window, write_window
from wotemu_runtime.metrics import store
from wotemu_runtime.metrics.export import export_run
from wotemu_runtime.metrics.writer import MetricsWriter
from wotemu_runtime.net.readiness import Announcer, read_gateway
from wotemu_testbench.services import free_port, stop, wait_port

RUN = "acl-20260101T000000"
# The stack's users as normalise makes them: a service each, named after it (role, networks).
USERS = {
    "redis": ("store", []),
    "gw_cell": ("gateway", ["cell"]),
    "gw_lan": ("gateway", ["lan"]),
    "reader": ("node", ["cell"]),
    "server": ("node", ["cell", "lan"]),
    "survivor": ("node", ["cell"]),
    "broker": ("broker", []),
}


@pytest.fixture(scope="module")
def store_server(tmp_path_factory):
    require_command("redis-server")
    tmp = tmp_path_factory.mktemp("store")
    port = free_port()
    files = {}
    for user in USERS:
        files[user] = tmp / f"redis-{user}"
        files[user].write_text(f"pw-{user}-{'x' * 20}\n")
    config = {
        "run_id": RUN,
        "stack": "acl",
        "service": "redis",
        "redis": {"host": "127.0.0.1", "port": port, "user": "redis", "password_file": str(files["redis"])},
        "users": {
            user: {"role": role, "password_file": str(files[user]), "networks": networks}
            for user, (role, networks) in USERS.items()
        },
    }
    (tmp / "store.json").write_text(json.dumps(config))
    server = {"port": port, "files": files, "config": config, "process": start_store(tmp), "dir": tmp}
    try:
        yield server
    finally:
        stop(server["process"])


def start_store(tmp) -> subprocess.Popen:
    argv = [sys.executable, "-m", "wotemu_runtime", "store", "--config", str(tmp / "store.json")]
    env = {**os.environ, "TMPDIR": str(tmp)}  # where it writes its redis.conf
    process = subprocess.Popen([*argv, "--dir", str(tmp / "data")], stdout=subprocess.DEVNULL, env=env)
    wait_port(json.loads((tmp / "store.json").read_text())["redis"]["port"])
    return process


def role_config(server: dict, service: str) -> dict:
    """The config of one service of the stack: it connects as its own user."""
    password = str(server["files"][service])
    redis_config = {"host": "127.0.0.1", "port": server["port"], "user": service, "password_file": password}
    return {"run_id": RUN, "stack": "acl", "service": service, "redis": redis_config}


def refused(call) -> str:
    with pytest.raises(redis.exceptions.NoPermissionError) as raised:
        call()
    return str(raised.value)


def test_no_connection_without_a_role_user(store_server):
    once = Retry(NoBackoff(), 0)  # an authentication error is final: no retries
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=store_server["port"], retry=once).ping()  # the default user is off
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(
            port=store_server["port"], username="reader", password="pw-redis-" + "x" * 20, retry=once
        ).ping()
    ps = Path(f"/proc/{store_server['process'].pid}/cmdline").read_bytes()
    assert ps.startswith(b"redis-server") and b"pw-" not in ps  # exec'd: it gets the container's signals
    (conf,) = store_server["dir"].glob("wotemu-redis-*.conf")
    written = conf.read_text()
    assert "appendonly yes" in written and "appendfsync always" in written
    assert "pw-" not in written and "user default reset off " in written  # only the passwords' hashes
    assert (store_server["dir"] / "data" / "appendonlydir").is_dir()


def test_a_node_writes_its_records_and_readiness_and_reads_what_it_needs(store_server):
    admin = store.connect(store_server["config"])
    admin.set(keys.gateway(RUN, "cell"), json.dumps({"address": "10.0.0.2", "backend": "netem", "t": 1}))
    write_window(store_server["config"], 100.0, 160.0)
    node = role_config(store_server, "reader")
    writer = MetricsWriter(node)
    writer.write("lifecycle", event="start", detail="")
    assert writer.close() == 0 and writer.written["lifecycle"] == 1
    with store.connect(node) as client:
        client.set(keys.ready(RUN, "reader", "acl_reader.1.abc"), "{}")
        peers, lease = keys.probe_peers(RUN, "cell"), keys.probe_lease(RUN, "cell")  # what the probes do
        client.hset(peers, "acl_reader.1.abc", "{}")
        assert client.hgetall(peers) and client.hget(peers, "acl_reader.1.abc") == b"{}"
        assert client.set(lease, "t", nx=True, px=1000) and client.incr(keys.probe_rounds(RUN, "cell")) == 1
        client.hdel(peers, "acl_reader.1.abc")
        client.delete(lease)
        assert read_gateway(client, node, "cell")["address"] == "10.0.0.2"
    assert read_window(node) == {"started": 100.0, "ends": 160.0}
    assert admin.xlen(keys.record_stream(RUN, "reader", "lifecycle")) == 1


def test_a_node_cannot_flush_reroute_or_touch_what_is_not_its_own(store_server):
    with store.connect(role_config(store_server, "reader")) as node:
        gateway = keys.gateway(RUN, "cell")
        own = keys.record_stream(RUN, "reader", "app")
        assert "flushall" in refused(node.flushall)
        assert "flushdb" in refused(node.flushdb)
        assert refused(lambda: node.set(gateway, json.dumps({"address": "10.0.0.66"})))  # no rerouting
        assert refused(lambda: node.delete(gateway))
        assert refused(lambda: node.set(keys.window(RUN), "{}"))  # the run's window is the store's
        assert refused(lambda: node.set(keys.ready("another-run", "reader", "t"), "{}"))  # another run's keys
        assert refused(lambda: node.set("elsewhere", "x"))
        assert refused(lambda: node.delete(own))  # not even its own records
        assert refused(lambda: node.set(own, "x"))  # nor SET over a stream
        assert refused(lambda: node.config_set("appendonly", "no"))
        with pytest.raises(redis.ResponseError, match="The user executing the script can't"):  # no more
            node.eval("return redis.call('DEL', KEYS[1])", 1, own)
        assert refused(lambda: list(node.scan_iter(match="*")))
        assert refused(lambda: node.hset(keys.probe_peers(RUN, "lan"), "t", "{}"))  # not its network's


def test_a_node_cannot_forge_trim_or_delete_another_services_records(store_server):
    victim = MetricsWriter(role_config(store_server, "server"))
    victim.write("app", metric="m", value=1.0, data={})
    assert victim.close() == 0
    theirs = keys.record_stream(RUN, "server", "app")
    with store.connect(role_config(store_server, "reader")) as node:
        forged = {"r": json.dumps({"service": "server", "metric": "forged"})}
        assert refused(lambda: node.xadd(theirs, forged))
        assert refused(lambda: node.xadd(theirs, forged, maxlen=0))
        assert refused(lambda: node.xtrim(theirs, maxlen=0))
        assert refused(lambda: node.delete(theirs))
        # Nor through a script, whether it declares the other service's key or hides it.
        trim = "return redis.call('XADD', ARGV[1], 'MAXLEN', '0', '*', 'r', '{}')"
        assert refused(lambda: node.eval(trim, 1, theirs, theirs))
        with pytest.raises(redis.ResponseError, match="The user executing the script can't"):
            node.eval(trim, 1, keys.record_stream(RUN, "reader", "app"), theirs)
    assert store.connect(store_server["config"]).xlen(theirs) == 1


def test_a_node_cannot_touch_another_services_batch_numbers_or_readiness(store_server):
    theirs = keys.batches(RUN, "server")
    with store.connect(role_config(store_server, "reader")) as node:
        assert refused(lambda: node.hset(theirs, "writer", "999999"))
        assert refused(lambda: node.hget(theirs, "writer"))
        assert refused(lambda: node.set(keys.ready(RUN, "server", "acl_server.1.def"), "{}"))
        node.set(keys.ready(RUN, "reader", "acl_reader.2.xyz"), "{}")  # its own tasks, it may


def test_a_gateway_announces_its_network_and_nothing_more(store_server):
    config = role_config(store_server, "gw_cell")
    with store.connect(config) as client:
        announcer = Announcer(client, config, "cell", "10.0.1.2", "userspace")
        announcer.start(timeout=5)
        assert read_gateway(client, config, "cell")["address"] == "10.0.1.2"
        announcer.stop()  # withdraws the key
        client.get(keys.window(RUN))  # its scenario's clock: read, never written
        assert refused(lambda: client.set(keys.gateway(RUN, "lan"), json.dumps({"address": "10.0.1.66"})))
        assert refused(lambda: client.delete(keys.gateway(RUN, "lan")))
        assert refused(lambda: client.set(keys.ready(RUN, "reader", "acl_reader.1.abc"), "{}"))
        assert refused(lambda: client.set(keys.window(RUN), "{}"))
        assert refused(lambda: client.xadd(keys.record_stream(RUN, "gw_lan", "traffic"), {"r": "{}"}))
        assert refused(client.flushall)
    writer = MetricsWriter(config)
    writer.write("traffic", network="cell", protocol="http", direction="request", packets=1, bytes=60)
    assert writer.close() == 0
    assert store.connect(store_server["config"]).xlen(keys.record_stream(RUN, "gw_cell", "traffic")) == 1


def test_a_broker_writes_records_but_announces_nothing(store_server):
    config = role_config(store_server, "broker")
    store.connect(store_server["config"]).set(keys.gateway(RUN, "cell"), json.dumps({"address": "10.0.0.2"}))
    writer = MetricsWriter(config)
    writer.write("lifecycle", event="ready", detail="")
    assert writer.close() == 0
    with store.connect(config) as client:
        assert read_gateway(client, config, "cell") is not None
        assert refused(lambda: client.set(keys.gateway(RUN, "cell"), "{}"))
        assert refused(lambda: client.set(keys.ready(RUN, "broker", "t"), "{}"))
        assert refused(lambda: client.xadd(keys.record_stream(RUN, "reader", "lifecycle"), {"r": "{}"}))


def test_the_store_user_runs_status_window_and_export(store_server, tmp_path):
    config = store_server["config"]
    with store.connect(role_config(store_server, "server")) as node:
        node.set(keys.ready(RUN, "server", "acl_server.1.def"), "{}")
    writer = MetricsWriter(role_config(store_server, "server"))
    writer.write("app", metric="m", value=1.0, data={})
    assert writer.close() == 0
    status = run_status(config)
    assert "acl_server.1.def" in status["tasks_ready"] and status["records"]["app"] >= 1
    write_window(config, 1.0, 2.0)
    assert read_window(config) == {"started": 1.0, "ends": 2.0}
    assert export_run(store.connect(config), RUN, tmp_path)["app"] >= 1
    with store.connect(config) as admin:
        assert refused(admin.flushall)  # not even the store's user: nothing in a run needs it
        assert refused(lambda: admin.set("elsewhere", "x"))


def test_a_killed_store_comes_back_with_every_acknowledged_record(store_server):
    """The writers' batches are transactions in the append-only file; Redis replays them at start
    under the ACL rules in force, so the rules must let it (a store that lost them once did)."""
    node = role_config(store_server, "survivor")
    writer = MetricsWriter(node)
    writer.write("lifecycle", event="start", detail="before the kill")
    assert writer.close() == 0
    stream = keys.record_stream(RUN, "survivor", "lifecycle")
    before = store.connect(store_server["config"]).xlen(stream)
    store_server["process"].send_signal(signal.SIGKILL)
    store_server["process"].wait()
    store_server["process"] = start_store(store_server["dir"])
    deadline = time.monotonic() + 10
    while True:  # the port opens before the append-only file is loaded
        try:
            assert store.connect(store_server["config"]).xlen(stream) == before
            break
        except redis.BusyLoadingError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=store_server["port"], retry=Retry(NoBackoff(), 0)).ping()  # default still off
