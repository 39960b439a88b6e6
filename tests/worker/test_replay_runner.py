"""The replay runner: one replay at a time off the loop, each within a deadline; runaway threads abandoned (pure)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable

import pytest

from durable_storage import ReplayDeadlineError
from durable_storage.testing import wait_until
from durable_storage.worker._replay_runner import ReplayRunner

DEADLINE = 0.3


def spin() -> None:
    while True:
        pass


def stuck_count(runner: ReplayRunner, count: int) -> Callable[[], Awaitable[bool]]:
    async def reached() -> bool:
        return runner.stuck == count

    return reached


async def test_a_replay_runs_off_the_loop_and_returns_its_result_or_its_error() -> None:
    runner = ReplayRunner(DEADLINE)

    assert await runner.run(threading.current_thread, what="x") is not threading.current_thread()
    with pytest.raises(KeyError, match="boom"):
        await runner.run(lambda: {}["boom"], what="x")
    runner.close()


async def test_an_infinite_loop_fails_by_name_is_interrupted_and_a_fresh_thread_serves_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = ReplayRunner(DEADLINE)

    with pytest.raises(ReplayDeadlineError) as raised:
        await runner.run(spin, what="orchestrator 'spin' of instance 'i1'")

    assert str(raised.value).startswith(
        "orchestrator 'spin' of instance 'i1' did not return within the 0.3 s replay deadline "
        "(WorkerOptions.replay_deadline)"
    )
    assert "is abandoned" in caplog.text and "'spin'" in caplog.text
    started = time.monotonic()
    assert await runner.run(lambda: 42, what="next") == 42
    assert time.monotonic() - started < DEADLINE
    # The spinning thread took an asynchronous exception and ended: no CPU is lost to it for ever.
    await wait_until(stuck_count(runner, 0), timeout=5, what="the spinner to end")
    assert "ended" in caplog.text
    runner.close()


async def test_a_sleep_and_a_deadlock_are_abandoned_and_counted_while_the_others_go_on() -> None:
    runner = ReplayRunner(DEADLINE)
    lock = threading.Lock()
    released = threading.Event()

    def hold_and_block() -> None:
        lock.acquire()  # held by a replay that never returns (in time)
        released.wait()

    with pytest.raises(ReplayDeadlineError):
        await runner.run(lambda: time.sleep(3600), what="orchestrator 'nap'")
    with pytest.raises(ReplayDeadlineError):
        await runner.run(hold_and_block, what="orchestrator 'holder'")
    with pytest.raises(ReplayDeadlineError, match="'waiter'"):
        await runner.run(lock.acquire, what="orchestrator 'waiter'")  # a deadlock on the other replay's lock

    assert runner.stuck == 3
    assert await runner.run(lambda: "fine", what="normal") == "fine"
    released.set()  # the holder returns late: its thread ends, its result is dropped
    await wait_until(stuck_count(runner, 2), timeout=5, what="the holder's thread to end")
    runner.close()


async def test_at_the_cap_replays_wait_for_a_stuck_thread_to_end_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    runner = ReplayRunner(DEADLINE, max_stuck=1)
    released = threading.Event()
    with pytest.raises(ReplayDeadlineError):
        await runner.run(released.wait, what="orchestrator 'blocked'")
    caplog.set_level(logging.ERROR)

    def release_soon() -> None:
        time.sleep(0.2)
        released.set()

    threading.Thread(target=release_soon, daemon=True).start()
    started = time.monotonic()
    assert await runner.run(lambda: "served", what="normal") == "served"

    assert time.monotonic() - started >= 0.15  # it waited for the stuck thread to end, instead of a 2nd thread
    assert "1 replay threads are stuck in user code" in caplog.text
    runner.close()
