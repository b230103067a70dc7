"""Sub-commands `store` (the stack's redis-server) and `export` (a run's records into the bundle)."""

import argparse
import json
import logging
import sys

log = logging.getLogger(__name__)


def _store(args: argparse.Namespace) -> int:
    from wotemu_runtime.config import ConfigError, load_service_config
    from wotemu_runtime.metrics.store_server import exec_store

    try:
        config = load_service_config(args.config, "store")
    except ConfigError as ex:
        log.error("%s", ex)
        return 2
    exec_store(config, args.dir)
    return 1  # not reached: exec_store replaces the process


def _export_config(args: argparse.Namespace) -> dict:
    """The store and run to export from: explicit arguments override the service config."""
    from wotemu_runtime.config import load_service_config

    if args.redis_host and args.run_id:
        config = {"run_id": args.run_id, "redis": {"host": args.redis_host}}
    else:
        config = load_service_config(args.config, "store")  # the store's: where Redis is, which run
    config["redis"] = dict(config["redis"])
    if args.redis_host:
        config["redis"]["host"] = args.redis_host
    if args.redis_port:
        config["redis"]["port"] = args.redis_port
    if args.password_file:
        config["redis"]["password_file"] = args.password_file
    if args.run_id:
        config["run_id"] = args.run_id
    return config


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    import redis

    from wotemu_runtime.config import ConfigError
    from wotemu_runtime.metrics import store
    from wotemu_runtime.metrics.export import archive_tables, drops_totals, export_run

    try:
        config = _export_config(args)
    except ConfigError as ex:
        log.error("%s", ex)
        return 2
    try:
        with store.connect(config) as client:
            counts = export_run(client, config["run_id"], Path(args.out))
            drops = drops_totals(client, config["run_id"])
    except (redis.RedisError, OSError) as ex:
        log.error("export of run %s failed: %s", config["run_id"], ex)
        return 1
    finally:
        if args.archive and Path(args.out).is_dir():  # what was written, even when it failed part way
            archive_tables(Path(args.out), args.archive)
    json.dump({"run_id": config["run_id"], "records": counts, "drops": drops}, sys.stdout, indent=2)
    print()
    return 0


def register(subparsers) -> None:
    store = subparsers.add_parser(
        "store", help="run the stack's redis-server (append-only, password from the secret)"
    )
    store.add_argument("--config", metavar="FILE", help="service config JSON (default: the stack's)")
    store.add_argument(
        "--dir", default="/data", help="data directory for the append-only file (default: /data)"
    )
    store.set_defaults(func=_store)

    export = subparsers.add_parser(
        "export",
        help="write a run's records from Redis into <kind>.jsonl.gz files; prints the counts as JSON",
    )
    export.add_argument("--out", required=True, metavar="DIR", help="the run's results directory")
    export.add_argument(
        "--archive", metavar="NAME", help="put the tables into one tar, DIR/NAME, instead of loose files"
    )
    export.add_argument("--config", metavar="FILE", help="service config JSON (default: the stack's)")
    export.add_argument("--redis-host", help="Redis host (with --run-id, no service config is needed)")
    export.add_argument("--redis-port", type=int, help="Redis port (default: the config's, else 6379)")
    export.add_argument("--password-file", help="file holding the Redis password")
    export.add_argument("--run-id", help="the run to export (default: the config's run_id)")
    export.set_defaults(func=_export)
