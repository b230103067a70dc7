"""Sub-commands for topology files: validate, compose, schema, import (from the original WoTemu)."""

import json
import re
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


def import_command(args) -> int:
    import yaml

    from wotemu_runtime.topology.errors import TopologyError
    from wotemu_runtime.topology.upstream import convert
    from wotemu_runtime.topology.validate import validate_file

    source, output = Path(args.file), Path(args.output)
    name = args.name or re.sub(r"[^a-z0-9_-]", "-", source.stem.lower())[:30]
    document, converter = convert(source, name, args.function)
    output.write_text(
        f"# Converted by `wotemu import` from {source.name}.\n" + yaml.safe_dump(document, sort_keys=False)
    )
    for original, ours in converter.renamed.items():
        print(f"{source}: renamed {original!r} to {ours!r} (check host names in app params)", file=sys.stderr)
    for item in converter.unconverted:
        print(f"{source}: {item}", file=sys.stderr)
    try:
        validate_file(output)
    except TopologyError as ex:
        print(f"{output} was written but is not valid yet:\n{ex}", file=sys.stderr)
        return 1
    if converter.unconverted:
        print(f"{output}: valid, without the {len(converter.unconverted)} settings above", file=sys.stderr)
        return 1
    print(f"{output}: converted and valid")
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

    upstream = subparsers.add_parser(
        "import",
        help="convert an original WoTemu (2021) topology .py file; this RUNS the file as Python, as you",
        description="Convert an original WoTemu (2021) topology file (a Python file whose topology() "
        "builds wotemu.topology.models objects) into a topology file. The file is executed as Python "
        "code with your rights, as the original's `wotemu compose` did: import only files you trust. "
        "Settings with no equivalent are listed with their line, and the exit status is then 1.",
    )
    upstream.add_argument("file", metavar="FILE.py")
    upstream.add_argument("-o", "--output", required=True, help="the topology file to write")
    upstream.add_argument(
        "--func", dest="function", default="topology", help="the function that builds it (default: topology)"
    )
    upstream.add_argument("--name", help="experiment (stack) name (default: from FILE's name)")
    upstream.set_defaults(func=import_command)

    schema = subparsers.add_parser("schema", help="print the JSON Schema of topology files (for editors)")
    schema.add_argument("-o", "--output", default="-", help="output file (default: standard output)")
    schema.set_defaults(func=schema_command)
