"""The scenario as a function of time (net/timeline.py) and as the normaliser hands it to gateways."""

from wotemu_runtime.contract.conditions import DEFAULTS
from wotemu_runtime.net.timeline import Timeline
from wotemu_runtime.topology.normalise import scenario_of
from wotemu_runtime.topology.validate import validate_document

BASE = {**DEFAULTS, "delay_ms": 20.0}


def _action(index, at, for_=None, every=None, netem=None, partition=()):
    change = {key: None for key in DEFAULTS if key != "seed"} | (netem or {})
    return {
        "index": index,
        "at_s": at,
        "for_s": for_,
        "every_s": every,
        "netem": change if netem else None,
        "partition": list(partition),
    }


def test_state_folds_the_active_actions_in_order():
    timeline = Timeline(
        BASE,
        [
            _action(0, 20, netem={"delay_ms": 70.0}),
            _action(1, 30, for_=10, netem={"delay_ms": 200.0, "duplicate_pct": 1.0}),
            _action(2, 50, for_=15, partition=["server.lan"]),
        ],
    )
    assert timeline.state(19_999).conditions == BASE
    assert timeline.state(20_000).conditions["delay_ms"] == 70.0
    assert timeline.state(30_000).conditions == {**BASE, "delay_ms": 200.0, "duplicate_pct": 1.0}
    # Undone after `for`: back to what the earlier action set, not to the network's own conditions.
    assert timeline.state(40_000).conditions == {**BASE, "delay_ms": 70.0}
    assert timeline.state(50_000).cut_off == {"server.lan"}
    assert timeline.state(65_000).cut_off == frozenset()


def test_boundaries_come_in_time_order_with_repetitions():
    timeline = Timeline(
        BASE,
        [_action(0, 10, for_=5, every=30, partition=["gw.lan"]), _action(1, 15, netem={"delay_ms": 1.0})],
    )
    seen, t = [], -1
    while True:
        found = timeline.boundaries_after(t, 80_000)
        if not found:
            break
        t = found[0].t_ms
        seen += [(b.t_ms, b.action["index"], b.change) for b in found]
    assert seen == [
        (10_000, 0, "start"),
        (15_000, 0, "end"),
        (15_000, 1, "start"),
        (40_000, 0, "start"),
        (45_000, 0, "end"),
        (70_000, 0, "start"),
        (75_000, 0, "end"),
    ]
    assert timeline.state(42_000).cut_off == {"gw.lan"} and timeline.state(46_000).cut_off == frozenset()


def test_the_normaliser_gives_each_gateway_its_networks_actions_in_canonical_units():
    topology = validate_document(
        {
            "networks": [{"name": "lan", "netem": {"delay": "20ms"}}, {"name": "wan"}],
            "nodes": [{"name": "server", "app": {"builtin": "clock"}, "networks": ["lan", "wan"]}],
            "scenario": [
                {"at": "20s", "network": "lan", "netem": {"delay": "0.07s", "rate": "1mbit"}},
                {"at": "50s", "for": "15s", "partition": {"network": "wan", "nodes": ["server"]}},
            ],
        },
        "inline",
    )
    lan, wan = (scenario_of(topology, network) for network in topology.networks)
    assert [a.model_dump(exclude_unset=True) for a in lan] == [
        {
            "index": 0,
            "at_s": 20.0,
            "for_s": None,
            "every_s": None,
            "netem": {"delay_ms": 70.0, "rate_bps": 1_000_000},
            "partition": [],
        }
    ]
    assert [(a.index, a.at_s, a.for_s, a.partition) for a in wan] == [(1, 50.0, 15.0, ["server.wan"])]


def test_a_manual_run_takes_actions_up_to_a_week_and_repeats_them_until_stopped():
    document = {
        "experiment": {"duration": "manual"},
        "networks": [{"name": "lan"}],
        "nodes": [{"name": "server", "app": {"builtin": "clock"}, "networks": ["lan"]}],
        "scenario": [
            {"at": "3h", "network": "lan", "netem": {"delay": "80ms"}},
            {"every": "30s", "for": "5s", "partition": {"network": "lan", "nodes": ["server"]}},
        ],
    }
    topology = validate_document(document, "inline")
    (lan,) = (scenario_of(topology, network) for network in topology.networks)
    timeline = Timeline(BASE, [a.model_dump() for a in lan])
    assert timeline.state(3 * 3600 * 1000).conditions["delay_ms"] == 80.0
    assert timeline.state(6 * 24 * 3600 * 1000 + 2000).cut_off == {"server.lan"}  # still flapping on day 6
