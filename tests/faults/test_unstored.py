"""What writers said they could not store, read from their containers' last words, adds up per
service in run.json's `unstored`."""

from wotemu_runtime.contract.records import UNSTORED_MARK
from wotemu_runtime.control.runinfo import unstored


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
