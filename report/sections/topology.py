"""The topology graph: networks, their gateways, nodes (with replica counts) and brokers."""

import math

from bokeh.models import (
    ColumnDataSource,
    GraphRenderer,
    HoverTool,
    LabelSet,
    MultiLine,
    Scatter,
    StaticLayoutProvider,
)

from report.blocks import Section, empty, note
from report.bundle import Bundle
from report.plots import TimeAxis, plain_figure

COLOURS = {"network": "#1f77b4", "gateway": "#ff7f0e", "node": "#2ca02c", "broker": "#9467bd"}
SIZES = {"network": 34, "gateway": 20, "node": 24, "broker": 24}
MARKERS = {"network": "square", "gateway": "diamond", "node": "circle", "broker": "triangle"}


def named(items) -> list[tuple[str, dict]]:
    """(name, spec) pairs from a list of {"name": ...} objects, a list of names or a {name: spec} map.

    The normalised topology's exact shape belongs to the topology model; the report relies only
    on names, `networks`, `scale` and `app`, and ignores everything else.
    """
    if isinstance(items, dict):
        return [(str(name), spec if isinstance(spec, dict) else {}) for name, spec in items.items()]
    pairs = []
    for item in items or []:
        if isinstance(item, dict):
            pairs.append((str(item.get("name", "?")), item))
        else:
            pairs.append((str(item), {}))
    return pairs


def network_names(spec: dict) -> list[str]:
    return [name for name, _ in named(spec.get("networks"))]


def app_label(app) -> str:
    if not isinstance(app, dict):
        return str(app or "")
    for key in ("builtin", "path", "url"):
        if app.get(key):
            return f"{key}: {app[key]}"
    return ""


def free_spot(vertices: dict, x: float, y: float) -> tuple[float, float]:
    """(x, y), moved down until no vertex is close enough for the markers or labels to overlap."""
    while any(abs(v["x"] - x) < 1.2 and abs(v["y"] - y) < 1.0 for v in vertices.values()):
        y -= 1.0
    return x, y


def layout(topology: dict) -> tuple[dict, list[tuple[str, str]]]:
    """Graph vertices {id: attributes} (with positions) and edges.

    Networks sit on a circle with their gateway just outside it; a service attached to one network
    sits in a fan around that network, one attached to several sits between them, nearer the centre.
    """
    networks = named(topology.get("networks"))
    vertices, edges = {}, []
    radius = 3.0 if len(networks) > 1 else 0.0
    for i, (name, _) in enumerate(networks):
        angle = 2 * math.pi * i / max(len(networks), 1) + math.pi / 2
        x, y = radius * math.cos(angle), radius * math.sin(angle)
        vertices[f"net:{name}"] = {"label": name, "kind": "network", "x": x, "y": y, "info": "network"}
        gx, gy = (
            (radius + 1.6) * math.cos(angle),
            (radius + 1.6) * math.sin(angle) + (1.6 if not radius else 0),
        )
        vertices[f"gw:{name}"] = {
            "label": f"gw_{name}",
            "kind": "gateway",
            "x": gx,
            "y": gy,
            "info": "gateway",
        }
        edges.append((f"gw:{name}", f"net:{name}"))
    services = [(n, s, "node") for n, s in named(topology.get("nodes"))]
    services += [(n, s, "broker") for n, s in named(topology.get("brokers"))]
    fan: dict[str, int] = {}
    for name, spec, kind in services:
        attached = [n for n in network_names(spec) if f"net:{n}" in vertices]
        if not attached:
            continue
        cx = sum(vertices[f"net:{n}"]["x"] for n in attached) / len(attached)
        cy = sum(vertices[f"net:{n}"]["y"] for n in attached) / len(attached)
        key = ",".join(sorted(attached))
        slot = fan[key] = fan.get(key, -1) + 1
        if len(attached) == 1:  # around its network, away from the gateway
            base = math.atan2(cy, cx) + math.pi if radius else -math.pi / 2
            angle = base + (slot - 2) * 0.55
            x, y = cx + 1.8 * math.cos(angle), cy + 1.8 * math.sin(angle)
        else:  # between its networks, nearer the centre
            x, y = cx * 0.5, cy * 0.5
        x, y = free_spot(vertices, x, y)
        scale = spec.get("scale", 1)
        label = f"{name} \N{MULTIPLICATION SIGN}{scale}" if kind == "node" else name
        info = app_label(spec.get("app")) if kind == "node" else "MQTT broker"
        vertices[f"{kind}:{name}"] = {"label": label, "kind": kind, "x": x, "y": y, "info": info}
        edges += [(f"{kind}:{name}", f"net:{n}") for n in attached]
    return vertices, edges


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("topology", "Topology")
    vertices, edges = layout(bundle.run.get("topology") or {})
    if not vertices:
        section.add(empty("networks in the topology"))
        return section
    ids = list(vertices)
    graph = GraphRenderer()
    graph.node_renderer.data_source = ColumnDataSource(
        {
            "index": ids,
            "label": [vertices[i]["label"] for i in ids],
            "kind": [vertices[i]["kind"] for i in ids],
            "info": [vertices[i]["info"] for i in ids],
            "colour": [COLOURS[vertices[i]["kind"]] for i in ids],
            "size": [SIZES[vertices[i]["kind"]] for i in ids],
            "marker": [MARKERS[vertices[i]["kind"]] for i in ids],
        }
    )
    graph.node_renderer.glyph = Scatter(marker="marker", size="size", fill_color="colour", fill_alpha=0.85)
    graph.edge_renderer.data_source = ColumnDataSource(
        {"start": [a for a, _ in edges], "end": [b for _, b in edges]}
    )
    graph.edge_renderer.glyph = MultiLine(line_color="#999999", line_width=2)
    graph.layout_provider = StaticLayoutProvider(
        graph_layout={i: (v["x"], v["y"]) for i, v in vertices.items()}
    )

    xs = [v["x"] for v in vertices.values()]
    ys = [v["y"] for v in vertices.values()]
    fig = plain_figure(
        "Networks, gateways, nodes (\N{MULTIPLICATION SIGN} replicas) and brokers",
        height=520,
        x_range=(min(xs) - 2.5, max(xs) + 2.5),
        y_range=(min(ys) - 1.5, max(ys) + 1.5),
    )
    fig.axis.visible = False
    fig.grid.visible = False
    fig.renderers.append(graph)
    labels = ColumnDataSource({"x": xs, "y": ys, "label": [v["label"] for v in vertices.values()]})
    fig.add_layout(
        LabelSet(
            source=labels,
            x="x",
            y="y",
            text="label",
            text_align="center",
            text_baseline="top",
            y_offset=-20,
            text_font_size="12px",
        )
    )
    fig.add_tools(
        HoverTool(
            renderers=[graph.node_renderer], tooltips=[("", "@label"), ("kind", "@kind"), ("", "@info")]
        )
    )
    section.add(
        fig,
        note(
            "Blue squares: networks; orange diamonds: their gateways; green circles: nodes; "
            "purple triangles: brokers."
        ),
    )
    return section
