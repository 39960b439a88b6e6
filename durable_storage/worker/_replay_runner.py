"""Replays off the event loop, one at a time, each within a deadline (issue 20 item 2).

User code replays on a thread of its own, so storage calls and lease renewals go on while it runs; only one replay
runs at a time, because under the GIL more threads would not replay faster but would take the interpreter from the
event loop (CPU-heavy orchestrators starved renewals past the lease; T25). A replay that has not returned within the
deadline is given up, as Temporal's deadlock detector gives up a workflow task that does not yield: its caller gets
a :class:`ReplayDeadlineError`, its thread is abandoned and a fresh one runs the next replay.

Python cannot kill a thread. An abandoned thread is asked to stop with an asynchronous exception, which ends a
loop of Python code at its next instruction (a spinning orchestrator stops taking the GIL); a thread blocked in C
(``time.sleep``, a lock, ``input()``) only sees it when the call returns. Abandoned threads are daemons (they never
hold up the process's exit), their late results are dropped, and at most ``max_stuck`` of them may be alive at
once: beyond that no fresh thread is started, the worker says so at ERROR, and replays wait until one of them ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar

from durable_storage.errors import ReplayDeadlineError

__all__ = ["ReplayRunner"]

_log = logging.getLogger(__name__)
T = TypeVar("T")
# Blocked threads cost a stack each, not CPU; past this many the process is sick enough that a restart is the cure.
_MAX_STUCK = 32
_names = itertools.count(1)


class _Abandoned(BaseException):
    """Raised into an abandoned thread; a BaseException so that user code's ``except Exception`` lets it pass."""


class _ReplayThread:
    """A daemon thread that runs submitted jobs in order until it is closed or abandoned."""

    def __init__(self, on_end: Callable[[], None]) -> None:
        self._on_end = on_end  # called when it ends after being abandoned (from its own thread)
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self.abandoned = False
        self.abandoned_at = 0.0
        self.what = ""  # the replay it was abandoned in
        self.thread = threading.Thread(target=self._run, name=f"replay-{next(_names)}", daemon=True)
        self.thread.start()

    def submit(self, function: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((function, future))
        return future

    def close(self) -> None:
        self._jobs.put(None)

    def abandon(self, what: str) -> None:
        self.abandoned, self.abandoned_at, self.what = True, time.monotonic(), what
        self._jobs.put(None)  # it ends after the job it is stuck in, never waiting for another
        ident = self.thread.ident
        if ident is not None and self.thread.is_alive():
            # CPython's only way to stop a thread from outside; a thread blocked in C sees it when the call returns.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(_Abandoned))

    def _run(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                function, future = job
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(function())
                    except BaseException as error:  # the caller's future carries it
                        future.set_exception(error)
                if self.abandoned:
                    break
        except _Abandoned:
            pass  # the interruption arrived after the job ended: this thread is done all the same
        finally:
            if self.abandoned:
                took = time.monotonic() - self.abandoned_at
                _log.warning("abandoned replay thread %s (%s) ended %.1f s later", self.thread.name, self.what, took)
                self._on_end()


class ReplayRunner:
    """Runs replays one at a time off the event loop, each within ``deadline`` seconds."""

    def __init__(self, deadline: float, *, max_stuck: int = _MAX_STUCK) -> None:
        self._deadline = deadline
        self._max_stuck = max_stuck
        self._turn = asyncio.Lock()
        self._current: _ReplayThread | None = None
        self._stuck: list[_ReplayThread] = []
        self._ended = asyncio.Event()  # an abandoned thread ended (set from that thread, through the loop)

    @property
    def stuck(self) -> int:
        """How many abandoned threads are still alive (stuck in user code)."""
        self._stuck = [t for t in self._stuck if t.thread.is_alive()]
        return len(self._stuck)

    async def run(self, function: Callable[[], T], *, what: str) -> T:
        """``function()`` on the replay thread; ``what`` names the code it runs, for the deadline's error.

        Raises:
            ReplayDeadlineError: it did not return within the deadline (its thread is abandoned, its result dropped).
        """
        async with self._turn:
            thread = await self._thread()
            future = thread.submit(function)
            waiting = asyncio.wrap_future(future)
            await asyncio.wait([waiting], timeout=self._deadline)
            if future.done():  # also when it ended as the deadline passed: its result stands
                return future.result()
            waiting.cancel()  # a late result is dropped, never delivered
            self._abandon(thread, what)
        raise ReplayDeadlineError(
            f"{what} did not return within the {self._deadline:g} s replay deadline "
            "(WorkerOptions.replay_deadline): it loops or blocks (time.sleep, input(), a lock); orchestrator and "
            "entity code must not wait (use activities and durable timers)"
        )

    def close(self) -> None:
        """Let the replay thread end (abandoned ones end when their user code returns)."""
        if self._current is not None:
            self._current.close()
            self._current = None

    async def _thread(self) -> _ReplayThread:
        if self._current is not None:
            return self._current
        if self.stuck >= self._max_stuck:
            _log.error(
                "%d replay threads are stuck in user code (the most this worker abandons): no replay runs until one "
                "of them ends; restart the worker, and fix the code named in the errors above",
                self.stuck,
            )
            while self.stuck >= self._max_stuck:
                self._ended.clear()
                await self._ended.wait()
            _log.warning("a stuck replay thread ended: replays go on")
        loop = asyncio.get_running_loop()
        self._current = _ReplayThread(partial(_call_soon, loop, self._ended.set))
        return self._current

    def _abandon(self, thread: _ReplayThread, what: str) -> None:
        thread.abandon(what)
        self._current = None
        self._stuck.append(thread)
        _log.error(
            "%s ran past the %g s replay deadline: its thread %s is abandoned (%d abandoned threads still alive, "
            "at most %d) and a fresh one runs the other replays",
            what,
            self._deadline,
            thread.thread.name,
            self.stuck,
            self._max_stuck,
        )


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    # From another thread; a thread that ends after the worker's loop has closed has no one left to tell.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback)
