"""The normaliser's decisions about a run's course: which broker name each node can reach, the
order of the stop, and the duration override (with run.json's record of what was in force)."""

from pathlib import Path

from wotemu_runtime.control.runinfo import ended_at, in_force
from wotemu_runtime.topology.normalise import build_stack_model, stopped
from wotemu_runtime.topology.validate import validate_file

ROOT = Path(__file__).resolve().parents[2]


def model(name: str, **kwargs) -> dict:
    topology = validate_file(ROOT / "topologies" / f"{name}.yml", base_dir=ROOT)
    return build_stack_model(topology, f"{name}-20260101T000000", base_dir=ROOT, **kwargs)


def config(stack_model: dict, service: str) -> dict:
    return next(s for s in stack_model["services"] if s["name"] == service)["config"]


def test_each_node_reaches_the_broker_by_its_name_on_a_shared_network():
    mishmash = model("mishmash")
    # The clock serves MQTT through broker.lan (its first network); its forms say so.
    assert config(mishmash, "clock")["broker"] == {"host": "broker.lan", "port": 1883}
    # The readers are on cell only: whatever name a form gives the broker, they use broker.cell.
    assert config(mishmash, "reader")["broker_hosts"] == {
        "broker.lan": "broker.cell",
        "broker.cell": "broker.cell",
    }
    assert config(mishmash, "subscriber")["broker_hosts"] == {
        "broker.lan": "broker.lan",
        "broker.cell": "broker.lan",
    }
    assert config(mishmash, "flaky")["broker_hosts"] == {}  # on wifi only: it shares no network with it


def test_the_stop_takes_consumers_down_before_what_they_consume():
    # The server needs no gateway to stop: it goes with it. The mishmash's last nodes use its broker.
    assert model("quickstart")["stop_waves"] == [["reader"], ["server", "gw_cell"]]
    assert model("mishmash")["stop_waves"] == [
        ["reader", "subscriber", "caller", "flaky", "server"],
        ["clock", "worker"],
        ["broker", "gw_cell", "gw_lan", "gw_wifi"],
    ]


def test_each_stop_wave_scales_its_services_and_the_ones_before_to_zero():
    quickstart = model("quickstart")
    replicas = {s["name"]: s["replicas"] for s in stopped(quickstart, 1)["services"]}
    assert replicas == {"redis": 1, "gw_cell": 1, "server": 1, "reader": 0}
    replicas = {s["name"]: s["replicas"] for s in stopped(quickstart, 2)["services"]}
    assert replicas == {"redis": 1, "gw_cell": 0, "server": 0, "reader": 0}  # the store stays for the export


def test_a_duration_override_is_in_force_and_recorded():
    overridden = model("mishmash", duration=60.0)
    assert overridden["duration_s"] == 60.0
    assert overridden["topology"]["experiment"]["duration"] == 60.0
    assert overridden["overrides"] == {"experiment.duration": {"topology": 120.0, "in_force": 60.0}}
    assert model("mishmash", duration=120.0)["overrides"] == {}  # the same value overrides nothing


def test_run_json_states_what_was_in_force_and_when_the_run_ended():
    plain = model("mishmash")["topology"]
    overrides = {"experiment.duration": {"topology": 120.0, "in_force": 60.0}}
    assert in_force(plain, overrides)["experiment"]["duration"] == 60.0
    assert plain["experiment"]["duration"] == 120.0  # the model itself is left alone
    started = "2026-01-01T10:00:00+00:00"
    assert ended_at(started, 60.0, "2026-01-01T10:01:09+00:00") == "2026-01-01T10:01:00+00:00"
    # A stop that came sooner (an interrupted deploy phase) ends the run there.
    assert ended_at(started, 60.0, "2026-01-01T10:00:30+00:00") == "2026-01-01T10:00:30+00:00"
    assert ended_at(None, None, "2026-01-01T10:00:30+00:00") == "2026-01-01T10:00:30+00:00"
