"""A step in a forked child (wotemu_runtime/forked.py): its answer comes back, and a child that never
answers is killed at its bound instead of holding the node forever."""

import os
import threading
import time

import pytest

from wotemu_runtime.forked import ChildTimeout, in_forked_child


def _pid_and(value):
    return os.getpid(), value


def _wait_for(lock: threading.Lock) -> None:
    lock.acquire()  # held by a thread of the parent at the fork: in the child, nobody releases it


def test_the_childs_answer_comes_back_from_another_process():
    pid, value = in_forked_child(_pid_and, {"x": [1, 2]})
    assert pid != os.getpid() and value == {"x": [1, 2]}


def test_a_child_stuck_on_a_lock_held_at_the_fork_is_killed_at_its_bound():
    lock, release = threading.Lock(), threading.Event()

    def hold():
        with lock:
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        started = time.monotonic()
        with pytest.raises(ChildTimeout, match="no answer within 1 s"):
            in_forked_child(_wait_for, lock, timeout=1)
        assert time.monotonic() - started < 3
    finally:
        release.set()
        holder.join()
