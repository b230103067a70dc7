"""What writers said they could not store, read from their containers' last words, adds up per
service in run.json's `unstored`."""

import json

from wotemu_runtime.contract.records import UNSTORED_MARK
from wotemu_runtime.control.runinfo import run_info, unstored

NOW = "2026-12-01T00:00:00+00:00"


def test_last_words_add_up_per_service():
    words = {
        "c1": {
            "service": "reader",
            "lines": ["start", f"2026 ERROR writer {UNSTORED_MARK}" + '{"app": 3, "lifecycle": 1}'],
        },
        "c2": {"service": "reader", "lines": [f"{UNSTORED_MARK}" + '{"app": 2}', "exit"]},
        "c3": {"service": "server", "lines": ["no loss here"]},
        "c4": {"service": "gw_cell", "lines": [], "error": "still running after 120 s"},
    }
    assert unstored(words) == {"reader": {"app": 5, "lifecycle": 1}}


def test_replicas_that_exited_before_the_stop_count_too(tmp_path):
    tasks = [
        {
            "service": "reader",
            "task": "s_reader.1.a",
            "state": "failed",
            "logs_tail": [UNSTORED_MARK + '{"app": 4}'],
        },
        {"service": "reader", "task": "s_reader.1.b", "state": "running", "logs_tail": ["started"]},
    ]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    words = {"c1": {"service": "reader", "lines": [UNSTORED_MARK + '{"app": 1}']}}
    info = run_info(
        {"run_id": "r", "stack": "s", "topology": {}, "services": []},
        str(tmp_path),
        [],
        {},
        {},
        NOW,
        NOW,
        last_words=words,
    )
    assert info["unstored"] == {"reader": {"app": 5}}
