"""The report's sections, one module each, in page order.

Each module has `build(bundle, axis) -> Section`: pure pandas for the numbers (also returned as
`Section.tables` for --json), Bokeh for the plots. A section whose records are absent says so.
"""

from report.sections import (
    app,
    events,
    fidelity,
    health,
    interactions,
    readiness,
    resources,
    scenario,
    summary,
    tasks,
    topology,
    traffic,
)

MODULES = (
    health,
    fidelity,
    summary,
    topology,
    scenario,
    readiness,
    interactions,
    events,
    resources,
    traffic,
    tasks,
    app,
)
