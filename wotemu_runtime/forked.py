"""Running one step in a forked child, so that the modules it imports leave with the child.

A node replica's memory is mostly the code of the modules it has imported, and CPython never
gives a module back. Steps a replica does once, with libraries it never needs again (its config
check with pydantic, its route installation with pyroute2), run in a child forked for them: the
child shares the parent's pages, answers through a pipe (pickled: a result, or the exception it
raised, re-raised here) and exits before the app starts.
"""

import os
import pickle
import select
import signal
import time
import traceback


class ChildFailed(Exception):
    """The child died without an answer, or raised an exception that cannot cross the pipe."""


class ChildTimeout(ChildFailed):
    """The child did not answer in time (and was killed)."""


def in_forked_child(func, *args, timeout: float | None = None):
    """`func(*args)` in a forked child: its return value, or its exception raised here.

    A child forked from a process with threads may inherit a lock another thread held at the fork
    and wait for it forever: with a `timeout`, a child that has not answered by then is killed and
    ChildTimeout raised, so that the caller can try again or fail, rather than hang.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        _answer(read_fd, write_fd, func, args)
    os.close(write_fd)
    deadline = None if timeout is None else time.monotonic() + timeout
    chunks = []
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0)
            if not select.select([pipe], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise ChildTimeout(f"{func.__qualname__} in a forked child: no answer within {timeout:g} s")
            chunk = pipe.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
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
