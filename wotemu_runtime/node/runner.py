"""The node role: load the app, route its traffic through the gateways, serve it, record everything.

Exit codes: 0 when stopped by SIGTERM/SIGINT, 1 when the app raised (so Swarm restarts the task),
2 when the app cannot be loaded or called as configured.
"""

import asyncio
import json
import logging
import signal
import time
import traceback

import redis

from wotemu_runtime.config import task_name
from wotemu_runtime.contract import keys
from wotemu_runtime.metrics import store
from wotemu_runtime.metrics.system import start_system_metrics
from wotemu_runtime.metrics.writer import MetricsWriter
from wotemu_runtime.node import loader
from wotemu_runtime.node.helpers import AppConf

log = logging.getLogger(__name__)

# SIGTERM to exit must fit in the stack's 30 s stop grace period, or Swarm kills the node before
# its records are flushed: 5 + 8 + 2 + 8 s, plus the routes' removal and the writer's last second.
APP_CANCEL_TIMEOUT_S = 5.0
SHUTDOWN_TIMEOUT_S = 8.0
LEFTOVER_TIMEOUT_S = 2.0
WRITER_CLOSE_TIMEOUT_S = 8.0
READY_TIMEOUT_S = 60.0


def _describe(app_conf: dict) -> str:
    for key in ("builtin", "path", "url"):
        if app_conf.get(key):
            return f"{key}: {app_conf[key]}"
    return "no app"


def _prepare_app(config: dict):
    """The app function and its params, checked; raises loader.AppError."""
    app_conf = config.get("app") or {}
    path = loader.resolve_source(app_conf)
    func = loader.load_app(path)
    params = app_conf.get("params") or {}
    loader.check_params(func, params, str(path))
    return func, params


async def _start_redirection(config: dict, writer: MetricsWriter):
    """Route the app's traffic through the networks' gateways (network plane); None without networks.

    Records the steps of the node's time to ready: every gateway announced, then routes installed.
    """
    if not config.get("networks"):
        return None
    from wotemu_runtime.net.redirect import start_redirection  # only nodes on networks need the plane

    redirection = await asyncio.to_thread(start_redirection, config, store.connect(config))
    gateways = ", ".join(f"{net} at {address}" for net, address in sorted(redirection.gateways.items()))
    writer.write("lifecycle", ago_s=time.time() - redirection.announced_at, event="gateways", detail=gateways)
    writer.write("lifecycle", event="routed", detail=f"via {sorted(redirection.gateways.items())}")
    return redirection


def _start_probes(config: dict, writer: MetricsWriter, redirection):
    """Answer the fidelity probe and run this task's rounds of it (design §4); None when off."""
    if redirection is None or config.get("probes") is None:
        return None
    from wotemu_runtime.net.probe import Probes

    addresses = {name: interface.address for name, interface in redirection.interfaces.items()}
    probes = Probes(config, store.connect(config), writer, addresses)
    probes.start()
    return probes


def _mark_ready(config: dict) -> None:
    """The readiness key of design §8.3: routes are in place and the app is about to start.
    Redis may still be starting (or restarting): retry for a while before giving up."""
    record = json.dumps({"service": config["service"], "t": time.time()})
    deadline = time.monotonic() + READY_TIMEOUT_S
    with store.connect(config) as client:
        while True:
            try:
                client.set(keys.ready(config["run_id"], config["service"], task_name()), record)
                return
            except redis.RedisError as ex:
                if time.monotonic() > deadline:
                    raise
                log.warning("cannot mark the node ready yet: %s", ex)
                time.sleep(1.0)


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.wait({task}, timeout=APP_CANCEL_TIMEOUT_S)
    if not task.done():
        log.warning("the app did not stop within %.0f s of being cancelled; leaving it", APP_CANCEL_TIMEOUT_S)


async def _serve(config: dict, func, params: dict, writer: MetricsWriter) -> int:
    from wotemu_runtime.node.instrument import TimedExposedThing
    from wotemu_runtime.node.servient import build_servient
    from wotemu_runtime.node.window import watch_run_end

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    redirection = await _start_redirection(config, writer)
    probes = await asyncio.to_thread(_start_probes, config, writer, redirection)
    servient = build_servient(config, writer)
    wot = await servient.start()
    wot.set_exposed_thing_class(TimedExposedThing)
    await asyncio.to_thread(_mark_ready, config)
    writer.write(
        "lifecycle", event="ready", detail=f"serving {sorted(servient.servers)} as {config['hostname']}"
    )

    app_task = asyncio.create_task(func(wot, AppConf(config, writer), loop, **params))
    end_task = asyncio.create_task(watch_run_end(config, servient.run_end))
    stop_task = asyncio.create_task(stop.wait())
    code = 0
    try:
        await asyncio.wait({app_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if app_task.done() and not stop.is_set():
            if app_task.exception() is not None:
                ex = app_task.exception()
                detail = "".join(traceback.format_exception(ex))
                log.error("the app failed:\n%s", detail)
                writer.write("lifecycle", event="error", detail=detail)
                code = 1
            else:
                log.info("the app returned; serving its Things until stopped")
                await stop_task
    finally:
        stop_task.cancel()
        end_task.cancel()
        if not app_task.done():
            await _cancel(app_task)
        try:
            await asyncio.wait_for(servient.shutdown(), SHUTDOWN_TIMEOUT_S)
        except Exception as ex:  # a binding failing to stop must not cost the metrics flush
            log.warning("servient shutdown: %s: %s", type(ex).__name__, ex)
        if probes is not None:
            await asyncio.to_thread(probes.stop)
        if redirection is not None:
            await asyncio.to_thread(redirection.stop)
    return code


def _run_to_the_end(coroutine) -> int:
    """Run the node's loop until `coroutine` ends, then give the tasks left a bounded time to end.

    Not `asyncio.run`: it waits for every task left without a bound, and an app deaf to cancellation
    would hold the node past Swarm's grace period, which kills it before its records are flushed.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.wait(left, timeout=LEFTOVER_TIMEOUT_S))
        loop.close()


def run_node(config: dict) -> int:
    # amqtt's state machine logs every MQTT connection at INFO: noise that buries the node's own log.
    for name in ("transitions", "amqtt"):
        logging.getLogger(name).setLevel(logging.WARNING)
    writer = MetricsWriter(config)
    writer.write("lifecycle", event="start", detail=_describe(config.get("app") or {}))
    sampler = start_system_metrics(writer, config, role="node", app=_describe(config.get("app") or {}))
    try:
        try:
            func, params = _prepare_app(config)
        except loader.AppError as ex:
            log.error("%s", ex)
            writer.write("lifecycle", event="error", detail=str(ex))
            code = 2
        else:
            code = _run_to_the_end(_serve(config, func, params, writer))
    except Exception:
        detail = traceback.format_exc()
        log.error("the node failed:\n%s", detail)
        writer.write("lifecycle", event="error", detail=detail)
        code = 1
    finally:
        if sampler is not None:
            sampler.stop()
    writer.write("lifecycle", event="exit", detail=f"exit code {code}")
    writer.close(WRITER_CLOSE_TIMEOUT_S)
    return code
