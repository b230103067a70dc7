"""Page assembly: the sections, in order, into one standalone HTML file (Bokeh inlined, no CDN)."""

import json
from datetime import UTC, datetime
from importlib.resources import files

import jinja2
import pandas as pd
from bokeh.embed import file_html
from bokeh.model import Model
from bokeh.models import Plot
from bokeh.resources import INLINE

from report.blocks import Section, Table
from report.bundle import Bundle
from report.plots import TimeAxis
from report.sections import MODULES, scenario
from wotemu_runtime import __version__

# The template sits beside this module, so that it is package data like the module itself.
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(files("report"))),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def build_sections(bundle: Bundle) -> list[Section]:
    # From the first task's creation (tasks start before the run does) to the run's end.
    created = bundle.tasks["created_at"].min()
    first = min(bundle.started, created.timestamp()) if pd.notna(created) else bundle.started
    axis = TimeAxis(first, bundle.ended, bands=scenario.bands(bundle))
    return [module.build(bundle, axis) for module in MODULES]


def render(bundle: Bundle, sections: list[Section]) -> str:
    """The report page of one run."""
    run = bundle.run
    subtitle = f"{run['started_at']} → {run['ended_at']}"
    return render_page(f"WoTemu report: {run['run_id']}", run["run_id"], subtitle, sections)


def render_page(
    title: str, heading: str, subtitle: str, sections: list[Section], brand: str = "WoTemu report"
) -> str:
    """A standalone page of `sections`. Bokeh models become named roots of one document, placed by
    the template."""
    roots: list[Model] = []
    page_sections = []
    for section in sections:
        blocks = []
        for block in section.blocks:
            if isinstance(block, Model):
                block.name = f"root-{len(roots)}"
                roots.append(block)
                blocks.append(("root", block.name))
            else:
                blocks.append(("table" if isinstance(block, Table) else "html", block))
        page_sections.append({"id": section.id, "title": section.title, "blocks": blocks})
    variables = {
        "sections": page_sections,
        "brand": brand,
        "heading": heading,
        "subtitle": subtitle,
        "built_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "version": __version__,
        "n_roots": len(roots),
        "n_plots": sum(len(list(root.select({"type": Plot}))) for root in roots),
    }
    template = TEMPLATES.get_template("page.html.j2")
    if not roots:  # nothing to plot: no Bokeh at all
        return template.render(title=title, bokeh_js="", bokeh_css="", plot_script="", **variables)
    return file_html(roots, INLINE, title, template=template, template_variables=variables)


def summary(bundle: Bundle, sections: list[Section]) -> dict:
    """The sections' tables as JSON-ready records (full precision; NaN → null)."""
    tables = {}
    for section in sections:
        for name, frame in section.tables.items():
            tables[name] = json.loads(frame.to_json(orient="records", double_precision=15, date_format="iso"))
    return {"run_id": bundle.run["run_id"], "stack": bundle.run["stack"], "tables": tables}


def to_json_text(data: dict) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False)
