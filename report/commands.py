"""`wotemu report RESULTS_DIR`: the report of a results bundle; `wotemu compare A B ...`: designs
side by side (each a bundle, or a directory of trial bundles)."""

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="build the standalone HTML report of a results bundle",
        description="Build one standalone HTML file (opens offline) from results/<stack>/<run_id>/.",
    )
    parser.add_argument("results_dir", metavar="RESULTS_DIR", type=Path, help="the results bundle directory")
    parser.add_argument("-o", "--output", metavar="FILE", type=Path, help="default: RESULTS_DIR/report.html")
    parser.add_argument(
        "--json",
        action="store_true",
        help="also write the summary tables as JSON, to FILE with a .json suffix",
    )
    parser.set_defaults(func=run)
    compare = subparsers.add_parser(
        "compare",
        help="put designs side by side: figures with intervals, differences, verdicts",
        description="Compare designs, each a results bundle or a directory of trial bundles; the first "
        "is the baseline. One standalone HTML file (opens offline).",
    )
    compare.add_argument(
        "designs", metavar="DESIGN", type=Path, nargs="+", help="bundle or trial-set directory"
    )
    compare.add_argument("--label", action="append", default=[], help="a name per design, in order")
    compare.add_argument("-o", "--output", metavar="FILE", type=Path, default=Path("compare.html"))
    compare.add_argument("--json", action="store_true", help="also write the tables as JSON, to FILE.json")
    compare.set_defaults(func=run_compare)


def run(args: argparse.Namespace) -> int:
    # Heavy imports (pandas, Bokeh, pyarrow) only when the command runs: `wotemu --help` stays instant.
    from report import page
    from report.bundle import BundleError, load

    try:
        bundle = load(args.results_dir)
    except BundleError as ex:
        print(f"wotemu report: {ex}", file=sys.stderr)
        return 1
    output = args.output or args.results_dir / "report.html"
    sections = page.build_sections(bundle)
    output.write_text(page.render(bundle, sections), encoding="utf-8")
    print(output)
    if args.json:
        json_path = output.with_suffix(".json")
        json_path.write_text(page.to_json_text(page.summary(bundle, sections)), encoding="utf-8")
        print(json_path)
    return 0


def _default_labels(paths: list[Path]) -> list[str]:
    """Each design's stack name (`results/sensors-http/trials-…` is sensors-http) while they differ;
    else the directory's name, else with its parent's."""
    from report.trials import bundle_dirs

    for labels in (
        [json.loads((bundle_dirs(path)[0] / "run.json").read_text())["stack"] for path in paths],
        [path.resolve().name for path in paths],
    ):
        if len(set(labels)) == len(labels):
            return labels
    return [f"{path.resolve().parent.name}/{path.resolve().name}" for path in paths]


def run_compare(args: argparse.Namespace) -> int:
    from report import compare, page
    from report.bundle import BundleError
    from report.trials import design

    if len(args.designs) < 2:
        print("wotemu compare: give at least two designs", file=sys.stderr)
        return 2
    if args.label and len(args.label) != len(args.designs):
        print(f"wotemu compare: {len(args.label)} labels for {len(args.designs)} designs", file=sys.stderr)
        return 2
    try:
        labels = args.label or _default_labels(args.designs)
        designs = [design(path, label) for path, label in zip(args.designs, labels, strict=True)]
    except BundleError as ex:
        print(f"wotemu compare: {ex}", file=sys.stderr)
        return 1
    sections = compare.build(designs)
    args.output.write_text(compare.render(designs, sections), encoding="utf-8")
    print(args.output)
    if args.json:
        tables = {
            name: json.loads(frame.to_json(orient="records", double_precision=15))
            for section in sections
            for name, frame in section.tables.items()
        }
        json_path = args.output.with_suffix(".json")
        json_path.write_text(page.to_json_text({"designs": labels, "tables": tables}), encoding="utf-8")
        print(json_path)
    return 0
