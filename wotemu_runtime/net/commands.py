"""The `gateway` sub-command."""

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "gateway",
        help="shape a network's traffic (NetEm or the userspace shaper) and count it",
        description="Run as the gw_<network> service: shape, count and announce readiness until SIGTERM.",
    )
    parser.add_argument("--config", metavar="FILE", help="service config JSON (default: the stack's)")
    parser.set_defaults(func=_gateway)


def _gateway(args: argparse.Namespace) -> int:
    from wotemu_runtime.config import ConfigError, load_service_config
    from wotemu_runtime.net.gateway import main

    try:
        config = load_service_config(args.config, "gateway")
    except ConfigError as ex:
        print(f"wotemu gateway: {ex}", file=sys.stderr)
        return 2
    return main(config)
