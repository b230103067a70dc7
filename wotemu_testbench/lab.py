"""A test bench for the network plane: nodes A, B and C — gateway — on one emulated network.

Everything is real: network namespaces joined by a bridge (the emulated network) and by a second
one (the control network, where Redis is, as in the stack: the gateway's own writes to Redis must
not share the shaped interface's rate), a Redis server, the real `wotemu gateway` process, and the
real redirection (`start_redirection`) in both nodes. The probes of `probe.py` then measure what
the path does. Used by the tests and by the fidelity benchmark, on the host (userspace shaper) and
inside user-mode Linux (NetEm, see `uml.py`):

    python -m wotemu_testbench.lab run PLAN.json RESULTS.json   # what the UML init runs

A plan run there starts a gateway per step: each is forked from a server that imported the
gateway's modules once (`Lab(forked_gateways=True)`), since under UML's ptrace a fresh interpreter
spends about 4 s importing them (redis, pyroute2, pydantic). The gateway's `main` and its argv are
the same; its start from a fresh interpreter is what every stack run does.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from pyroute2 import IPRoute, netns

from wotemu_runtime.contract import keys
from wotemu_runtime.contract.ports import PORTS, REDIS_PORT
from wotemu_runtime.metrics.export import iter_records
from wotemu_testbench.services import stop

REPO = Path(__file__).resolve().parents[1]
SUBNET = "10.77.0.0/24"
ADDRESSES = {"a": "10.77.0.10", "b": "10.77.0.20", "c": "10.77.0.30", "g": "10.77.0.2"}
CONTROL = {"a": "10.78.0.10", "b": "10.78.0.20", "c": "10.78.0.30", "g": "10.78.0.2", "redis": "10.78.0.254"}
NODES = ("a", "b", "c")  # B runs the echo server; C is a second sender beside A
NETWORK = "lab"
ECHO_PORT = PORTS["coap"]  # CoAP's UDP port: redirected through the gateway like any app traffic
SINK_PORT = PORTS["http"]
RUN_ID = "lab-20000101T000000"
GATEWAY_STOP_S = 20  # on SIGTERM the gateway removes its qdiscs and rules, then exits
# A bound on a gateway's start, not a measurement: under UML's ptrace on a loaded CI host a start
# took over 30 s (a few seconds idle). A gateway that exits is seen at once, whatever the bound.
GATEWAY_READY_S = 120


class Lab:
    """Builds the namespaces on __enter__, removes them and every process it started on __exit__."""

    def __init__(self, prefix: str, forked_gateways: bool = False):
        self.prefix = prefix
        self.forked_gateways = forked_gateways
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))  # configs, Redis' socket
        self.ns = {role: f"{prefix}-{role}" for role in ("sw", "g", *NODES)}
        self.procs: list[subprocess.Popen] = []
        self.redis_config = {"host": CONTROL["redis"], "port": REDIS_PORT}
        self.common = {"run_id": RUN_ID, "stack": "lab", "redis": self.redis_config, "seed": 42}
        self.gateway_address = ADDRESSES["g"]
        self.nodes_started = False

    # -- topology -------------------------------------------------------------------------------
    def __enter__(self) -> "Lab":
        try:
            self._build()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _build(self) -> None:
        for name in self.ns.values():
            netns.create(name)
        # eth0 on the emulated network (bridge br0), eth1 on the control network (bridge ctl).
        bridges = {"br0": ("eth0", ADDRESSES), "ctl": ("eth1", CONTROL)}
        with IPRoute(netns=self.ns["sw"]) as sw:
            for bridge_name, (ifname, _) in bridges.items():
                sw.link("add", ifname=bridge_name, kind="bridge")
                bridge = sw.link_lookup(ifname=bridge_name)[0]
                sw.link("set", index=bridge, state="up")
                for role in ("g", *NODES):
                    port_name = f"{role}-{ifname}"
                    peer = {"ifname": ifname, "net_ns_fd": self.ns[role]}
                    sw.link("add", ifname=port_name, kind="veth", peer=peer)
                    port = sw.link_lookup(ifname=port_name)[0]
                    sw.link("set", index=port, master=bridge, state="up")
            ctl = sw.link_lookup(ifname="ctl")[0]
            sw.addr("add", index=ctl, address=CONTROL["redis"], prefixlen=24)
        for role in ("g", *NODES):
            with IPRoute(netns=self.ns[role]) as ipr:
                ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
                for ifname, addresses in bridges.values():
                    index = ipr.link_lookup(ifname=ifname)[0]
                    ipr.addr("add", index=index, address=addresses[role], prefixlen=24)
                    ipr.link("set", index=index, state="up")
        # The services reach Redis over the lab network; this controlling process, outside the
        # namespaces, through a Unix socket.
        socket_path = str(self.workdir / "redis.sock")
        redis_args = ["--bind", CONTROL["redis"], "--port", str(REDIS_PORT), "--unixsocket", socket_path]
        redis_args += [
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.spawn("sw", ["redis-server", *redis_args], stdout=subprocess.DEVNULL)
        self.redis = redis.Redis(unix_socket_path=socket_path, socket_timeout=5)
        _until(lambda: self._ping(), 10, "redis-server did not start in the lab")
        self.spawn("b", _probe("echo", "--port", ECHO_PORT))

    def _ping(self) -> bool:
        with contextlib.suppress(redis.RedisError):
            return self.redis.ping()
        return False

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for name in self.ns.values():
            if name in netns.listnetns():
                netns.remove(name)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- processes ------------------------------------------------------------------------------
    def spawn(self, role: str, argv: list[str], **popen) -> subprocess.Popen:
        """Start a process inside a role's namespace; it is stopped with the lab."""
        name = self.ns[role]
        proc = subprocess.Popen(argv, cwd=REPO, preexec_fn=lambda: netns.setns(name, flags=0), **popen)
        self.procs.append(proc)
        return proc

    def run_json(self, role: str, argv: list[str], timeout: float) -> dict:
        proc = self.spawn(role, argv, stdout=subprocess.PIPE, text=True)
        out, _ = proc.communicate(timeout=timeout)
        if proc.returncode:
            raise RuntimeError(f"{argv} in {role} exited with {proc.returncode}")
        return json.loads(out)

    def config_file(self, name: str, config: dict) -> str:
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(config))
        return str(path)

    # -- the network plane ----------------------------------------------------------------------
    def gateway_config(self, netem: dict, scenario: list[dict] = (), links: list[dict] = ()) -> dict:
        return {
            **self.common,
            "service": f"gw_{NETWORK}",
            "network": NETWORK,
            "subnet": SUBNET,
            "netem": netem,
            "links": list(links),
            "extra_ports": {"tcp": [], "udp": []},
            "scenario": list(scenario),
        }

    @staticmethod
    def access_link(role: str, up: dict = (), down: dict = ()) -> dict:
        """A node's access link as the gateway's config has it (contract.config.AccessLink)."""
        return {"node": f"node_{role}", "service": f"lab_node_{role}", "up": dict(up), "down": dict(down)}

    def _resolving(self, links: list[dict], argv: list[str]) -> list[str]:
        """`argv` in a mount namespace whose /etc/hosts answers `tasks.<service>` for the lab's
        nodes as Swarm's DNS does in the stack; the gateway resolves it through the C library."""
        if not links:
            return argv
        hosts = self.workdir / "hosts"
        hosts.write_text("".join(f"{ADDRESSES[r]} tasks.lab_node_{r}\n" for r in NODES))
        # util-linux's unshare and mount: no library makes a private mount namespace for a child.
        bind = 'mount --bind "$0" /etc/hosts && exec "$@"'
        return ["unshare", "--mount", "--", "sh", "-c", bind, str(hosts), *argv]

    def open_window(self, started: float, ends: float | None) -> None:
        """What the deploy phase writes once every node is ready: the scenario's clock starts."""
        self.redis.set(keys.window(RUN_ID), json.dumps({"started": started, "ends": ends}))

    def start_gateway(
        self,
        netem: dict,
        timeout: float = GATEWAY_READY_S,
        scenario: list[dict] = (),
        links: list[dict] = (),
        **popen,
    ) -> "subprocess.Popen | _ForkedGateway":
        """Run the real gateway and wait for its readiness key (set only once shaping is in place)."""
        path = self.config_file("gateway", self.gateway_config(netem, scenario, links))
        if self.forked_gateways and not links and not popen:
            proc = _ForkedGateway(self.ns["g"], ["gateway", "--config", path])
            self.procs.append(proc)
        else:
            argv = [sys.executable, "-m", "wotemu_runtime", "gateway", "--config", path]
            proc = self.spawn("g", self._resolving(links, argv), **popen)
        key = keys.gateway(RUN_ID, NETWORK)

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"the gateway exited with {proc.returncode} before it was ready")
            value = self.redis.get(key)
            return bool(value) and json.loads(value)["address"] == self.gateway_address

        _until(ready, timeout, "the gateway did not announce itself")
        return proc

    def gateway_exit(self, config: dict, timeout: float = 60) -> tuple[int, str]:
        """Run a gateway expected to fail on its own: (exit code, standard error)."""
        path = self.config_file("gateway-bad", config)
        argv = [sys.executable, "-m", "wotemu_runtime", "gateway", "--config", path]
        proc = self.spawn("g", argv, stderr=subprocess.PIPE, text=True)
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, err

    @contextlib.contextmanager
    def gateway(self, netem: dict, scenario: list[dict] = (), links: list[dict] = (), **popen):
        """A gateway with these conditions; the nodes' redirection starts behind the first one."""
        proc = self.start_gateway(netem, scenario=scenario, links=links, **popen)
        try:
            if not self.nodes_started:
                self.start_nodes()
            yield proc
        finally:
            stop(proc, GATEWAY_STOP_S)

    def move_gateway(self, address: str) -> None:
        """Give the gateway's interface a new address (as a rescheduled Swarm task would get)."""
        with IPRoute(netns=self.ns["g"]) as ipr:
            eth0 = ipr.link_lookup(ifname="eth0")[0]
            ipr.addr("del", index=eth0, address=self.gateway_address, prefixlen=24)
            ipr.addr("add", index=eth0, address=address, prefixlen=24)
        self.gateway_address = address

    def start_nodes(self, timeout: float = 60) -> None:
        """Run the redirection of the nodes (a gateway must be up); returns once all route through it."""
        for role in NODES:
            config = {
                **self.common,
                "service": f"node_{role}",
                "networks": [
                    {
                        "name": NETWORK,
                        "subnet": SUBNET,
                        "gateway": f"gw_{NETWORK}",
                        "alias": f"node_{role}.{NETWORK}",
                    }
                ],
            }
            argv = [
                sys.executable,
                "-m",
                "wotemu_testbench.lab",
                "node",
                self.config_file(f"node_{role}", config),
            ]
            proc = self.spawn(role, argv, stdout=subprocess.PIPE, text=True)
            if proc.stdout.readline().strip() != "routed":
                raise RuntimeError(f"node {role}: redirection failed (exit {proc.wait(timeout)})")
        self.nodes_started = True

    def traffic(self) -> dict[tuple[str, str], tuple[int, int]]:
        """The gateway's latest traffic record per (protocol, direction): (packets, bytes)."""
        latest = {}
        for record in self.records("traffic"):
            latest[record["protocol"], record["direction"]] = (record["packets"], record["bytes"])
        return latest

    def records(self, kind: str) -> list[dict]:
        return [json.loads(raw) for raw in iter_records(self.redis, RUN_ID, kind)]

    # -- measurements ---------------------------------------------------------------------------
    def rtt(
        self, count: int, interval_s: float, tail_s: float = 1.0, size: int = 64, sender: str = "a"
    ) -> dict:
        """Echo requests from `sender` to B's echo server."""
        argv = _probe("rtt", "--host", ADDRESSES["b"], "--port", ECHO_PORT, "--count", count,
                      "--interval", interval_s, "--tail", tail_s, "--size", size)  # fmt: skip
        return self.run_json(sender, argv, timeout=count * interval_s + tail_s + 60)

    def goodput(self, seconds: float, warmup_s: float, sender: str = "a", receiver: str = "b") -> dict:
        argv = _probe("sink", "--port", SINK_PORT, "--seconds", seconds, "--warmup", warmup_s)
        sink = self.spawn(receiver, argv, stdout=subprocess.PIPE, text=True)
        # The source retries until the sink listens, and sends until the sink hangs up.
        self.run_ok(
            sender,
            _probe("source", "--host", ADDRESSES[receiver], "--port", SINK_PORT, "--seconds", seconds + 60),
        )
        out, _ = sink.communicate(timeout=120)
        return json.loads(out)

    def probe_round(self, count: int, interval_s: float, sender: str = "a", receiver: str = "b") -> dict:
        """One round of the product's own fidelity probe (net/probe.py) from `sender` to a responder
        in `receiver`: {sent, answers: [(round trip, forward, back) ms]}; one host, one clock."""
        responder = self.spawn(receiver, [sys.executable, "-m", "wotemu_testbench.lab", "responder"],
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            if responder.stdout.readline().strip() != "answering":
                raise RuntimeError(f"probe responder in {receiver} exited with {responder.wait(10)}")
            argv = [sys.executable, "-m", "wotemu_testbench.lab", "round",
                    ADDRESSES[sender], ADDRESSES[receiver], str(count), str(interval_s)]  # fmt: skip
            return self.run_json(sender, argv, timeout=count * interval_s + 60)
        finally:
            stop(responder)

    def run_ok(self, role: str, argv: list[str]) -> None:
        proc = self.spawn(role, argv)
        if proc.wait(timeout=300):
            raise RuntimeError(f"{argv} in {role} exited with {proc.returncode}")


_GATEWAY_SERVER = multiprocessing.get_context("forkserver")
_GATEWAY_SERVER.set_forkserver_preload(["wotemu_runtime.cli", "wotemu_runtime.net.gateway"])


def _gateway_main(namespace: str, argv: list[str]) -> None:
    netns.setns(namespace, flags=0)
    os.chdir(REPO)
    from wotemu_runtime.cli import main

    sys.exit(main(argv))


class _ForkedGateway:
    """`wotemu gateway` in a child of the preloaded server, with the calls of subprocess.Popen that
    the lab makes on its processes."""

    def __init__(self, namespace: str, argv: list[str]):
        self.process = _GATEWAY_SERVER.Process(target=_gateway_main, args=(namespace, argv), daemon=True)
        self.process.start()

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def poll(self) -> int | None:
        return self.process.exitcode

    def send_signal(self, signum: int) -> None:
        if self.process.exitcode is None:
            os.kill(self.process.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired("wotemu gateway", timeout)
        return self.process.exitcode


def _probe(*args) -> list[str]:
    return [sys.executable, "-m", "wotemu_testbench.probe", *map(str, args)]


def _until(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} within {timeout} s")
        time.sleep(0.1)


# -- plans: what a UML boot runs ----------------------------------------------------------------
def run_plan(lab: Lab, plan: list[dict]) -> list[dict]:
    """Run each step {"netem": {...}, "measure": "rtt"|"goodput", "args": {...}} behind a fresh gateway.

    A step with a "scenario" (its gateway's actions) opens the run's window as it starts measuring,
    and gets the window's start and the gateway's scenario records in its result. Each result also
    has the step's gateway's last `shaping` record: its shaper's totals at its stop.
    """
    results = []
    for step in plan:
        with lab.gateway(step["netem"], scenario=step.get("scenario", ())):
            measure = getattr(lab, step["measure"])
            if "scenario" in step:
                window_t = time.time()
                lab.open_window(window_t, None)
                result = {**measure(**step.get("args", {})), "window_t": window_t}
            else:
                result = measure(**step.get("args", {}))
        if "scenario" in step:  # the gateway has stopped: every record is in
            result["records"] = [r for r in lab.records("scenario") if r["planned_t"] >= result["window_t"]]
        results.append({**step, "result": result, "shaping": lab.records("shaping")[-1]})
    return results


def _node(config_path: str) -> None:
    """A node's redirection, held until SIGTERM (stands in for the node runtime)."""
    from wotemu_runtime.metrics.store import connect
    from wotemu_runtime.net.redirect import start_redirection

    # Blocked before any thread starts, so SIGTERM waits for sigwait() instead of killing us mid-way.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    config = json.loads(Path(config_path).read_text())
    handle = start_redirection(config, connect(config), timeout=60)
    print("routed", flush=True)
    signal.sigwait({signal.SIGTERM})
    handle.stop()


def _responder() -> None:
    """The product's probe responder, held until SIGTERM."""
    from wotemu_runtime.net.probe import Responder

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    responder = Responder()
    print("answering", flush=True)
    signal.sigwait({signal.SIGTERM})
    responder.close()


def _round(source: str, peer: str, count: int, interval_s: float) -> None:
    import threading

    from wotemu_runtime.net.probe import measure

    sent, answers = measure(source, peer, count, interval_s, threading.Event())
    print(json.dumps({"sent": sent, "answers": answers}))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m wotemu_testbench.lab")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="build the lab, run a plan, write the results")
    run.add_argument("plan")
    run.add_argument("results")
    run.add_argument("--prefix", default="wtn")
    commands.add_parser("node").add_argument("config")
    commands.add_parser("responder", help="the product's probe responder, until SIGTERM")
    probe_round = commands.add_parser("round", help="one round of the product's probe, as JSON")
    probe_round.add_argument("source")
    probe_round.add_argument("peer")
    probe_round.add_argument("count", type=int)
    probe_round.add_argument("interval", type=float)
    args = parser.parse_args(argv)
    if args.command == "node":
        _node(args.config)
        return
    if args.command == "responder":
        _responder()
        return
    if args.command == "round":
        _round(args.source, args.peer, args.count, args.interval)
        return
    plan = json.loads(Path(args.plan).read_text())
    with Lab(args.prefix, forked_gateways=True) as lab:
        steps = run_plan(lab, plan)
        # What each gateway reported about itself (backend, unhonoured parameters), in step order.
        gateways = [
            {key: info[key] for key in ("backend", "unhonoured", "probe")} for info in lab.records("info")
        ]
    Path(args.results).write_text(json.dumps({"steps": steps, "gateways": gateways}))


if __name__ == "__main__":
    main(sys.argv[1:])
