"""Sub-commands `run` and `stop` (the experiment through Ansible), `status` (of a run, from the control
machine, or inside the store) and `window` (inside the store)."""

import json
import logging
import sys

log = logging.getLogger(__name__)


def _extravars(pairs: list[str]) -> dict:
    extravars = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"wotemu run: -e expects KEY=VALUE, got {pair!r}")
        extravars[key] = value
    return extravars


def _run(args) -> int:
    from wotemu_runtime.control.run import run
    from wotemu_runtime.topology.errors import TopologyError
    from wotemu_runtime.topology.schema import MANUAL
    from wotemu_runtime.topology.validate import validate_file

    try:  # fail fast, before Ansible starts, with the same messages
        topology = validate_file(args.topology)
    except TopologyError as ex:
        print(ex, file=sys.stderr)
        return 1
    extravars = _extravars(args.extra)
    if args.manual:
        extravars["experiment_manual"] = True
    repeat = args.repeat or topology.experiment.repeat
    if repeat == 1:
        return run(args.topology, topology.experiment.name, args.inventory, extravars, args.tags)
    from wotemu_runtime.control.trials import run_trials

    if args.tags or "experiment_seed" in extravars:
        print(
            "wotemu run: repeated trials run every phase, each with its own seed: drop --tags and "
            "-e experiment_seed, or run once (--repeat 1)",
            file=sys.stderr,
        )
        return 2
    experiment = topology.experiment
    if args.manual or experiment.duration == MANUAL:
        print(
            "wotemu run: a manual run is one run, stopped by `wotemu stop`: it cannot repeat", file=sys.stderr
        )
        return 2
    return run_trials(args.topology, experiment.name, experiment.seed, repeat, args.inventory, extravars)


def _stop(args) -> int:
    """The stop and report phases of the topology's deployed run (a manual one, or one to cut short)."""
    from wotemu_runtime.control.run import run
    from wotemu_runtime.topology.errors import TopologyError
    from wotemu_runtime.topology.validate import validate_file

    try:
        topology = validate_file(args.topology)
    except TopologyError as ex:
        print(ex, file=sys.stderr)
        return 1
    return run(args.topology, topology.experiment.name, args.inventory, _extravars(args.extra), "stop,report")


def _run_status(args) -> int:
    """`status TOPOLOGY`: the run's state from the control machine."""
    from wotemu_runtime.control.live import NoRun, describe, store_status
    from wotemu_runtime.topology.errors import TopologyError
    from wotemu_runtime.topology.validate import validate_file

    try:
        stack = validate_file(args.topology).experiment.name
        status = store_status(stack)
    except (TopologyError, NoRun) as ex:
        print(ex, file=sys.stderr)
        return 1
    if args.json:
        json.dump(status, sys.stdout)
        print()
    else:
        print("\n".join(describe(stack, status)))
    return 0


def _with_store_config(action):
    """A handler that runs `action(config, args)` with the service config of the store's container."""

    def handler(args) -> int:
        from wotemu_runtime.config import ConfigError, load_service_config

        try:
            config = load_service_config(args.config, "store")
        except ConfigError as ex:
            log.error("%s", ex)
            return 2
        action(config, args)
        return 0

    return handler


def _status_either(args) -> int:
    """With a TOPOLOGY, the control machine's view of its run; without, the in-store status."""
    if args.topology:
        return _run_status(args)
    return _with_store_config(_status)(args)


def _status(config: dict, args) -> None:
    from wotemu_runtime.control.status import run_status, wait_until_ready

    if args.until_ready:
        gateways, nodes = args.until_ready
        wait_until_ready(config, gateways, nodes, args.within)
    json.dump(run_status(config), sys.stdout)
    print()


def _window(config: dict, args) -> None:
    from wotemu_runtime.control.window import write_window

    write_window(config, args.started, args.ends)


def register(subparsers) -> None:
    run = subparsers.add_parser("run", help="run an experiment end to end (provision, deploy, stop, report)")
    run.add_argument("topology", metavar="TOPOLOGY", help="topology file")
    run.add_argument(
        "-i", "--inventory", help="Ansible inventory (default: inventory/local.yml, this machine)"
    )
    run.add_argument(
        "-e",
        "--extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra variable for the playbook, e.g. experiment_duration=30",
    )
    run.add_argument("--tags", help="only these phases (provision, build-image, deploy, stop, report)")
    run.add_argument(
        "--manual",
        action="store_true",
        help="deploy, wait until ready and return: the run lasts until `wotemu stop TOPOLOGY`",
    )
    run.add_argument(
        "--repeat",
        type=int,
        choices=range(1, 101),
        metavar="N",
        help="N trials, each with its own seed, and a report of them together (default: experiment.repeat)",
    )
    run.set_defaults(func=_run)

    stop = subparsers.add_parser(
        "stop", help="stop the topology's deployed run: final snapshot, results bundle and report"
    )
    stop.add_argument("topology", metavar="TOPOLOGY", help="topology file")
    stop.add_argument("-i", "--inventory", help="Ansible inventory (default: inventory/local.yml)")
    stop.add_argument("-e", "--extra", action="append", default=[], metavar="KEY=VALUE")
    stop.set_defaults(func=_stop)

    status = subparsers.add_parser(
        "status",
        help="a run's phase, readiness and record counts: of TOPOLOGY's run from the control machine "
        "(through the Docker engine), or without TOPOLOGY inside the store's container",
    )
    status.add_argument("topology", metavar="TOPOLOGY", nargs="?", help="topology file of the run")
    status.add_argument("--json", action="store_true", help="with TOPOLOGY: the store's JSON answer")
    status.add_argument("--config", metavar="FILE", help="service config JSON (default: the stack's)")
    status.add_argument(
        "--until-ready",
        nargs=2,
        type=int,
        metavar=("GATEWAYS", "NODES"),
        help="first wait until this many gateways shape and nodes are ready (at most --within seconds)",
    )
    status.add_argument("--within", type=float, default=5.0, metavar="SECONDS")
    status.set_defaults(func=_status_either)

    window = subparsers.add_parser(
        "window", help="record when the run started and ends (inside the stack; nodes stop at the end)"
    )
    window.add_argument("--started", type=float, help="Unix seconds (default: keep the one recorded)")
    window.add_argument("--ends", type=float, help="Unix seconds (default: none, a manual run's window)")
    window.add_argument("--config", metavar="FILE", help="service config JSON (default: the stack's)")
    window.set_defaults(func=_with_store_config(_window))
