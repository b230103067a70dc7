"""The scenario's kills and scale changes as the run phase gets them: unrolled, undone, victims drawn."""

from wotemu_runtime.topology.faults import faults
from wotemu_runtime.topology.validate import validate_document


def _topology(scenario: list[dict], seed: int = 1):
    return validate_document(
        {
            "experiment": {"name": "s", "duration": "60s", "seed": seed},
            "networks": [{"name": "lan"}],
            "nodes": [{"name": "a", "app": {"builtin": "clock"}, "networks": ["lan"], "scale": 4}],
            "scenario": scenario,
        },
        "test",
    )


def _planned(scenario: list[dict], seed: int = 1) -> list[tuple]:
    planned = faults(_topology(scenario, seed), "s", seed, 60.0)
    return [(f.t_s, f.kind, f.replicas, f.slots, f.undo) for f in planned]


def test_a_repeated_kill_draws_its_victims_among_the_replicas_in_force_then():
    planned = _planned(
        [
            {"at": "10s", "for": "20s", "scale": {"node": "a", "replicas": 2}},
            {"at": "5s", "every": "10s", "kill": {"node": "a", "replicas": 3}},
        ]
    )
    assert [(t, kind, n) for t, kind, n, _, _ in planned] == [
        (5.0, "kill", 3),
        (10.0, "scale", 2),
        (15.0, "kill", 2),  # only two replicas while the scale holds
        (25.0, "kill", 2),
        (30.0, "scale", 4),  # the `for` ends: back to the node's own count
        (35.0, "kill", 3),
        (45.0, "kill", 3),
        (55.0, "kill", 3),
    ]
    assert planned[4][4] is True and not any(undo for *_, undo in planned if _[1] == "kill")
    for t, kind, n, slots, _ in planned:
        if kind == "kill":
            assert len(set(slots)) == n and set(slots) <= set(range(1, (2 if 10 <= t < 30 else 4) + 1))


def test_the_victims_follow_the_seed():
    kill = [{"at": "5s", "every": "5s", "kill": {"node": "a", "replicas": 2}}]
    assert _planned(kill, seed=1) == _planned(kill, seed=1)
    assert _planned(kill, seed=1) != _planned(kill, seed=2)


def test_a_scale_back_returns_to_the_scale_in_force_under_it():
    planned = _planned(
        [
            {"at": "10s", "scale": {"node": "a", "replicas": 6}},
            {"at": "20s", "for": "10s", "scale": {"node": "a", "replicas": 1}},
        ]
    )
    assert [(t, n, undo) for t, _, n, _, undo in planned] == [
        (10.0, 6, False),
        (20.0, 1, False),
        (30.0, 6, True),
    ]
