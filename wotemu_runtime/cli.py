"""The `wotemu` command: one entry point for the control machine and the containers.

Each part of the project contributes its sub-commands through a `register(subparsers)` function
in its own `commands` module; heavy imports stay inside the handlers so `--help` is instant.
"""

import argparse
import importlib
import logging
import sys

from wotemu_runtime import __version__

COMMAND_MODULES = [
    "wotemu_runtime.topology.commands",
    "wotemu_runtime.net.commands",
    "wotemu_runtime.node.commands",
    "wotemu_runtime.metrics.commands",
    "report.commands",
    "wotemu_runtime.control.commands",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wotemu",
        description="Emulate Web of Things deployments on Docker Swarm behind realistic networks.",
    )
    parser.add_argument("--version", action="version", version=f"wotemu {__version__}")
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return args.func(args) or 0
