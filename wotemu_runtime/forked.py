"""Running one step in a forked child, so that the modules it imports leave with the child.

A node replica's memory is mostly the code of the modules it has imported, and CPython never
gives a module back. Steps a replica does once, with libraries it never needs again (its config
check with pydantic, its route installation with pyroute2), run in a child forked for them: the
child shares the parent's pages, answers through a pipe (pickled: a result, or the exception it
raised, re-raised here) and exits before the app starts.
"""

import os
import pickle
import signal
import traceback


class ChildFailed(Exception):
    """The child died without an answer, or raised an exception that cannot cross the pipe."""


def in_forked_child(func, *args):
    """`func(*args)` in a forked child: its return value, or its exception raised here."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        _answer(read_fd, write_fd, func, args)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not answer:
        raise ChildFailed(f"{func.__qualname__} in a forked child: no answer (wait status {status})")
    kind, value = pickle.loads(answer)
    if kind == "error":
        raise value
    return value


def _answer(read_fd: int, write_fd: int, func, args) -> None:
    """The child's whole life: never returns, never runs the parent's clean-ups (os._exit)."""
    code = 1
    try:
        os.close(read_fd)
        # The parent's event loop may listen on the wakeup fd: a signal to the child must not reach it.
        signal.set_wakeup_fd(-1)
        try:
            answer = pickle.dumps(("result", func(*args)))
        except Exception as ex:
            ex.add_note(f"raised in a forked child:\n{traceback.format_exc()}")
            try:
                answer = pickle.dumps(("error", ex))
            except Exception:
                answer = pickle.dumps(("error", ChildFailed(traceback.format_exc())))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(answer)
        code = 0
    finally:
        os._exit(code)
