"""Sub-commands for topology files: validate, compose, schema."""

import json
import sys
from pathlib import Path


def _load_hosts(path: str | None) -> list[dict] | None:
    return json.loads(Path(path).read_text()) if path else None


def validate_command(args) -> int:
    from wotemu_runtime.topology.errors import TopologyError
    from wotemu_runtime.topology.validate import validate_file

    hosts = _load_hosts(args.hosts)
    failed = False
    for path in args.files:
        try:
            topology = validate_file(path, hosts=hosts)
        except TopologyError as ex:
            print(ex, file=sys.stderr)
            failed = True
            continue
        replicas = sum(node.scale for node in topology.nodes)
        print(
            f"{path}: ok ({len(topology.networks)} networks, {len(topology.nodes)} nodes, "
            f"{replicas} replicas, {len(topology.brokers)} brokers)"
        )
    return 1 if failed else 0


def compose_command(args) -> int:
    from wotemu_runtime.topology.errors import TopologyError
    from wotemu_runtime.topology.normalise import build_stack_model, new_run_id
    from wotemu_runtime.topology.render import render_stack
    from wotemu_runtime.topology.validate import validate_file

    try:
        topology = validate_file(args.file, hosts=_load_hosts(args.hosts))
    except TopologyError as ex:
        print(ex, file=sys.stderr)
        return 1
    run_id = args.run_id or new_run_id(topology.experiment.name)
    model = build_stack_model(topology, run_id, image=args.image)
    text = render_stack(model)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        output = Path(args.output)
        output.write_text(text)
        for service in model["services"]:  # the service configs the stack file names, beside it
            config = output.parent / service["config_file"]["file"]
            config.parent.mkdir(exist_ok=True)
            config.write_text(service["config_file"]["content"])
        print(f"{args.output}: stack {topology.experiment.name}, run {run_id} (service configs in configs/)")
    return 0


def schema_command(args) -> int:
    from wotemu_runtime.topology.schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
    return 0


def register(subparsers) -> None:
    hosts_help = "JSON list of hosts ({name, labels, cpus, mem_bytes}) to check placement and limits against"
    validate = subparsers.add_parser("validate", help="check topology files; list every problem")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--hosts", help=hosts_help)
    validate.set_defaults(func=validate_command)

    compose = subparsers.add_parser("compose", help="render the Swarm stack file of a topology")
    compose.add_argument("file", metavar="FILE")
    compose.add_argument(
        "-o",
        "--output",
        default="-",
        help="output file, its service configs in configs/ beside it (default: standard output, no configs)",
    )
    compose.add_argument("--run-id", help="run id (default: <stack>-<UTC time>)")
    compose.add_argument("--image", help="runtime image (default: wotemu-runtime:<version>)")
    compose.add_argument("--hosts", help=hosts_help)
    compose.set_defaults(func=compose_command)

    schema = subparsers.add_parser("schema", help="print the JSON Schema of topology files (for editors)")
    schema.add_argument("-o", "--output", default="-", help="output file (default: standard output)")
    schema.set_defaults(func=schema_command)
