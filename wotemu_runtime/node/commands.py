"""Sub-commands `node` (run a WoTPy app, instrumented) and `broker` (mosquitto for MQTT nodes)."""

import argparse
import logging

log = logging.getLogger(__name__)


def _load_config(path: str | None, role: str) -> dict | None:
    from wotemu_runtime.config import ConfigError, load_service_config

    try:
        return load_service_config(path, role)
    except ConfigError as ex:
        log.error("%s", ex)
        return None


def _node(args: argparse.Namespace) -> int:
    from wotemu_runtime.forked import in_forked_child

    # Checked in a child (forked before the node starts any thread): pydantic and the models it
    # builds, about 10 MB, leave with it instead of weighing on every replica.
    config = in_forked_child(_load_config, args.config, "node")
    if config is None:
        return 2
    from wotemu_runtime.node.runner import run_node

    return run_node(config)


def _broker(args: argparse.Namespace) -> int:
    config = _load_config(args.config, "broker")
    if config is None:
        return 2
    from wotemu_runtime.node.broker import run_broker

    return run_broker(config)


def register(subparsers) -> None:
    node = subparsers.add_parser(
        "node",
        help="run this node's WoTPy app with its servient, recording interactions and system metrics",
    )
    node.add_argument("--config", metavar="FILE", help="service config JSON (default: the stack's)")
    node.set_defaults(func=_node)
    broker = subparsers.add_parser("broker", help="run mosquitto for the MQTT nodes, with system metrics")
    broker.add_argument("--config", metavar="FILE", help="service config JSON (default: the stack's)")
    broker.set_defaults(func=_broker)
