"""A reader replica's memory stays within its goal: the built-in reader, a real node process.

What it measures is the reader's anonymous memory once it is reading (wotemu_testbench/footprint.py
says why that one); a binding, pydantic or pyroute2 imported again for every replica breaks it.
"""

from wotemu_testbench.footprint import READER_GOAL_MB, reader_footprint


def test_a_reader_stays_within_its_memory_goal(redis_server, tmp_path):
    footprint = reader_footprint(redis_server, tmp_path, "test-footprint", reads=10)
    assert footprint["anon_mb"] <= READER_GOAL_MB, footprint
