"""Run summary: what ran, where, for how long, and what each gateway applied (the probes: fidelity)."""

import pandas as pd

from report.blocks import Section, fmt_float, fmt_int, fmt_text, table, warning
from report.bundle import KINDS, Bundle
from report.plots import TimeAxis
from report.sections.topology import app_label, named, network_names

# The canonical conditions (§8.2, what gateways report) and the topology model name the same
# parameters differently: (canonical key, topology key).
DELAY, JITTER, RATE = ("delay_ms", "delay"), ("jitter_ms", "jitter"), ("rate_bps", "rate")
PERCENTS = {"duplicate": ("duplicate_pct", "duplicate"), "corrupt": ("corrupt_pct", "corrupt"),
            "reorder": ("reorder_pct", "reorder")}  # fmt: skip
LOSS = {"random": [("", ("pct", "probability"))], "gemodel": [("p ", ("p_pct", "p")), ("r ", ("r_pct", "r"))]}


def param(values: dict, keys: tuple[str, str]):
    """A parameter under its canonical name, or else its topology-model name."""
    value = values.get(keys[0])
    return values.get(keys[1]) if value is None else value


def conditions(netem) -> str:
    """One line for network conditions, canonical or as the topology model spells them."""
    if not isinstance(netem, dict):
        return fmt_text(netem)
    parts = []
    if param(netem, DELAY) is not None:
        jitter = f" ± {param(netem, JITTER):g} ms" if param(netem, JITTER) else ""
        parts.append(f"delay {param(netem, DELAY):g} ms{jitter}")
    loss = netem.get("loss")
    if isinstance(loss, dict):
        model = loss.get("model", "random")
        terms = [
            f"{label}{param(loss, keys):g} %" for label, keys in LOSS.get(model, []) if param(loss, keys)
        ]
        parts.append(f"loss {'gemodel ' if model == 'gemodel' else ''}{', '.join(terms) or '0 %'}")
    for label, keys in PERCENTS.items():
        if param(netem, keys):
            parts.append(f"{label} {param(netem, keys):g} %")
    if param(netem, RATE):
        parts.append(f"rate {param(netem, RATE) / 1e6:g} Mbit/s")
    return ", ".join(parts) or "none"


def limits(resources: dict) -> str:
    """Resource limits and reservations: memory in MiB, CPU in cores."""
    terms = []
    for key, value in (resources or {}).items():
        if value is not None:
            terms.append(f"{key} {value / 2**20:g} MiB" if key.startswith("mem") else f"{key} {value:g}")
    return ", ".join(terms) or "—"


def run_info(bundle: Bundle) -> pd.DataFrame:
    """The run in one row, typed, for --json."""
    run = bundle.run
    row = {key: run[key] for key in ("run_id", "stack", "started_at", "ended_at", "stopped_at")}
    row["duration_s"] = bundle.ended - bundle.started
    row["overrides"] = run["overrides"]
    row["tasks"] = len(bundle.tasks)
    row["records_dropped"] = sum(run["drops"].values())
    row["versions"] = run["versions"]
    return pd.DataFrame([row])


def facts(info: pd.DataFrame) -> pd.DataFrame:
    """The same row as (field, value) pairs, for the page."""
    row = info.iloc[0]
    rows = [
        ("run id", row["run_id"]),
        ("stack", row["stack"]),
        ("started", row["started_at"]),
        ("ended", row["ended_at"]),
        ("stopped", f"{row['stopped_at']} (the stop's records are left out)"),
        ("duration", f"{row['duration_s']:,.0f} s"),
        ("overrides", overrides(row["overrides"])),
        ("tasks", f"{row['tasks']:,}"),
        ("records dropped", f"{row['records_dropped']:,}"),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(row["versions"].items()))),
    ]
    return pd.DataFrame(rows, columns=["field", "value"])


def overrides(values: dict) -> str:
    """What the command line changed: `key: topology → in force`."""

    def shown(value) -> str:  # a number, or a word such as a duration's `manual`
        return f"{value:g}" if isinstance(value, int | float) else str(value)

    terms = [
        f"{key}: {shown(o['topology'])} → {shown(o['in_force'])} (in force)"
        for key, o in sorted(values.items())
    ]
    return "; ".join(terms) or "none"


def warnings(bundle: Bundle) -> list[str]:
    """What a reader must know before trusting the figures."""
    out = []
    for network, gateway in sorted(bundle.run["gateways"].items()):
        unhonoured = gateway.get("unhonoured") or []
        if unhonoured:
            out.append(
                f"Network {network}: conditions NOT fully honoured — {', '.join(map(str, unhonoured))} "
                f"could not be applied by the {gateway.get('backend')} backend."
            )
    userspace = sorted(n for n, g in bundle.run["gateways"].items() if g.get("backend") == "userspace")
    if userspace:
        out.append(
            f"{'Network' if len(userspace) == 1 else 'Networks'} {', '.join(userspace)}: shaped by the "
            "userspace shaper (the kernel lacks sch_netem); delays and losses are applied by a Python "
            "process and are less precise than NetEm."
        )
    dropped = sum(bundle.run["drops"].values())
    if dropped:
        out.append(f"{dropped:,} records were dropped by the metric writers (see Records dropped below).")
    failed = bundle.tasks[bundle.tasks["state"].isin(["failed", "rejected", "orphaned"])]
    killed = {task for fault in bundle.run.get("faults") or () for task in fault.get("killed", ())}
    unplanned = failed[~failed["task"].isin(killed)]
    if len(unplanned):
        out.append(f"{len(unplanned)} task(s) failed; see the Tasks section.")
    if len(failed) > len(unplanned):
        out.append(
            f"{len(failed) - len(unplanned)} task(s) were killed by the scenario, as planned (see the "
            "Scenario section); Swarm started others in their place."
        )
    return out


def gateways(bundle: Bundle) -> pd.DataFrame:
    rows = [
        (
            network,
            g.get("backend"),
            ", ".join(map(str, g.get("unhonoured") or [])) or "—",
            conditions(g.get("netem")),
        )
        for network, g in sorted(bundle.run["gateways"].items())
    ]
    return pd.DataFrame(rows, columns=["network", "backend", "unhonoured", "conditions"])


def topology_tables(topology: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    networks = pd.DataFrame(
        [
            (name, spec.get("conditions") or "—", conditions(spec.get("netem")))
            for name, spec in named(topology.get("networks"))
        ],
        columns=["network", "preset", "conditions"],
    )
    services = []
    for kind in ("nodes", "brokers"):
        for name, spec in named(topology.get(kind)):
            placement = ", ".join(f"{k}={v}" for k, v in (spec.get("placement") or {}).items()) or "—"
            app = app_label(spec.get("app")) if kind == "nodes" else "MQTT broker"
            services.append(
                (
                    name,
                    spec.get("scale", 1),
                    app,
                    ", ".join(network_names(spec)),
                    limits(spec.get("resources")),
                    placement,
                )
            )
    columns = ["service", "scale", "app", "networks", "limits", "placement"]
    return networks, pd.DataFrame(services, columns=columns)


def hosts(bundle: Bundle) -> pd.DataFrame:
    rows = [
        (
            h.get("name"),
            ", ".join(f"{k}={v}" for k, v in (h.get("labels") or {}).items()) or "—",
            h.get("cpus"),
            h.get("mem_bytes", 0) / 2**30 if h.get("mem_bytes") else None,
            h.get("arch"),
        )
        for h in bundle.run["hosts"]
    ]
    return pd.DataFrame(rows, columns=["host", "labels", "cpus", "mem_gib", "arch"])


def drops(bundle: Bundle) -> pd.DataFrame:
    """Dropped records per kind: as run.json totals them and as the `drops` records add up."""
    recorded = bundle.tables["drops"].groupby("kind", observed=True)["count"].sum()
    kinds = sorted(set(bundle.run["drops"]) | set(recorded.index))
    rows = [(k, bundle.run["drops"].get(k, 0), int(recorded.get(k, 0))) for k in kinds]
    return pd.DataFrame(rows, columns=["kind", "run_json", "drop_records"])


def build(bundle: Bundle, axis: TimeAxis) -> Section:
    section = Section("summary", "Run summary")
    section.add(*(warning(text) for text in warnings(bundle)))
    info = run_info(bundle)
    text = {"field": ("", fmt_text), "value": ("", fmt_text)}
    section.add(table(facts(info), "run-facts", text))

    networks, services = topology_tables(bundle.run.get("topology") or {})
    section.add(
        table(
            networks,
            "topology-networks",
            {
                "network": ("network", fmt_text),
                "preset": ("preset", fmt_text),
                "conditions": ("conditions (topology)", fmt_text),
            },
        )
    )
    section.add(table(services, "topology-services", {c: (c, fmt_text) for c in services.columns}))
    section.add(
        table(
            gateways(bundle),
            "gateways",
            {
                "network": ("network", fmt_text),
                "backend": ("shaping backend", fmt_text),
                "unhonoured": ("not honoured", fmt_text),
                "conditions": ("conditions applied", fmt_text),
            },
        )
    )
    section.add(
        table(
            hosts(bundle),
            "hosts",
            {
                "host": ("host", fmt_text),
                "labels": ("labels", fmt_text),
                "cpus": ("CPUs", fmt_int),
                "mem_gib": ("memory GiB", fmt_float(1)),
                "arch": ("arch", fmt_text),
            },
        )
    )

    counts = pd.DataFrame(
        [
            (kind, len(bundle.tables[kind]) + len(bundle.after_end[kind]), len(bundle.after_end[kind]))
            for kind in KINDS
        ],
        columns=["kind", "records", "after_end"],
    )
    section.add(
        table(
            counts,
            "record-counts",
            {
                "kind": ("record kind", fmt_text),
                "records": ("records", fmt_int),
                "after_end": ("of which after the end", fmt_int),
            },
            caption="Records in the bundle",
        )
    )
    dropped = drops(bundle)
    section.add(
        table(
            dropped,
            "drops",
            {
                "kind": ("kind", fmt_text),
                "run_json": ("dropped (run.json)", fmt_int),
                "drop_records": ("dropped (drops records)", fmt_int),
            },
            caption="Records dropped",
        )
    )
    section.tables = {
        "run": info,
        "gateways": gateways(bundle),
        "hosts": hosts(bundle),
        "record_counts": counts,
        "drops": dropped,
        "warnings": pd.DataFrame({"warning": warnings(bundle)}),
    }
    return section
