"""`wotemu report RESULTS_DIR [-o FILE] [--json]`: the report of a results bundle."""

import argparse
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
