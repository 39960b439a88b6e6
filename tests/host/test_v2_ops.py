"""A v2 operations app (df.DFApp: a timer-started eternal singleton, call_http, a retried activity, an entity) run by
``durable-storage host`` in a subprocess and driven over HTTP, as a user drives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from durable_storage import TaskHub
from durable_storage._storage.timer_status import ScheduleStatus
from durable_storage.testing import unique_hub_name, wait_until
from tests.host.support import APPS, RunningHost, delete_hub, running_host


@pytest.fixture(scope="module")
async def probe_target() -> AsyncIterator[tuple[str, list[Any]]]:
    """A server on loopback that the app's ``call_http`` reaches: its URL, and the bodies it received."""
    received: list[Any] = []

    async def answer(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"seen": len(received), "method": request.method}, status=201)

    app = web.Application()
    app.router.add_post("/health", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/health", received
    finally:
        await runner.cleanup()


@pytest.fixture(scope="module")
async def ops(
    connection_string: str, tmp_path_factory: pytest.TempPathFactory, probe_target: tuple[str, list[Any]]
) -> AsyncIterator[RunningHost]:
    # nightly_report (daily at 03:00, UTC here) last ran on 2020-01-01: the host starts with its past-due call.
    hub, env = unique_hub_name(), {"OPS_PROBE_URL": probe_target[0], "TZ": "UTC"}
    missed = ScheduleStatus(last=datetime(2020, 1, 1, 3, tzinfo=timezone.utc), next=_MISSED, last_updated=_MISSED)
    try:
        async with TaskHub.from_connection_string(connection_string, task_hub=hub) as created:
            await created.create_if_not_exists()
            assert await created.timers.try_write("v2-ops", "nightly_report", missed, etag=None)
        tmp = tmp_path_factory.mktemp("ops")
        async with running_host(APPS / "v2_ops", connection_string, tmp, hub=hub, env=env) as host:
            yield host
    finally:
        await delete_hub(connection_string, hub)


_MISSED = datetime(2020, 1, 2, 3, tzinfo=timezone.utc)


async def test_a_timer_keeps_one_eternal_ticker_running_that_counts_with_continue_as_new(ops: RunningHost) -> None:
    async def counted_to_three() -> dict[str, Any] | None:
        code, state, _ = await ops.request("GET", "/api/ticker")
        assert code == 200, (state, ops.output[-3000:])
        ticker_calls = [call for call in state["timer_calls"] if call["function"] == "keep_ticker_running"]
        return state if (state["count"] or 0) >= 3 and len(ticker_calls) >= 3 else None

    state = await wait_until(counted_to_three, timeout=30, what="the ticker to count to 3")

    # The timer ran on startup and every second since, yet it started the singleton once: every generation of the
    # eternal orchestration keeps the instance ID, so one instance runs.
    assert state["running_tickers"] == ["ticker-singleton"]
    assert state["runtime_status"] == "Running"
    calls = state["timer_calls"]
    assert {call["past_due"] for call in calls if call["function"] == "keep_ticker_running"} == {False}
    # The daily timer missed its occurrence while no host ran: one call at start, past due, with its status.
    (report,) = [call for call in calls if call["function"] == "nightly_report"]
    assert report["past_due"] is True
    assert report["status"]["Next"] == "2020-01-02T03:00:00+00:00"
    assert ops.output.count("Exception") == 0, ops.output[-3000:]


async def test_call_http_reaches_a_local_server_and_its_answer_the_orchestration_output(
    ops: RunningHost, probe_target: tuple[str, list[Any]]
) -> None:
    code, payload, _ = await ops.request("POST", "/api/probe", json={"check": "disk"})

    assert code == 202, (payload, ops.output[-3000:])
    status = await ops.finished(payload["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Completed", ops.output[-3000:]
    assert status["output"] == {"statusCode": 201, "content": {"seen": 1, "method": "POST"}}
    assert probe_target[1] == [{"check": "disk"}]


async def test_an_activity_that_fails_once_succeeds_on_its_retry(ops: RunningHost) -> None:
    code, payload, _ = await ops.request("POST", "/api/orchestrators/retried", json="backup")

    assert code == 202, (payload, ops.output[-3000:])
    status = await ops.finished(payload["statusQueryGetUri"])
    assert (status["runtimeStatus"], status["output"]) == ("Completed", "backup succeeded on attempt 2")


async def test_an_entity_signalled_and_read_over_http(ops: RunningHost) -> None:
    assert (await ops.request("GET", "/api/entities/counter/disk"))[0] == 404
    for amount in (5, 7):
        assert (await ops.request("POST", "/api/counters/disk/add", json=amount))[0] == 202

    async def twelve() -> bool:
        code, state, _ = await ops.request("GET", "/api/entities/counter/disk")
        return code == 200 and state == 12

    await wait_until(twelve, timeout=20, what="the counter to reach 12")
    assert (await ops.request("POST", "/api/counters/disk/reset"))[0] == 202
    await wait_until(lambda: _is(ops, "/api/entities/counter/disk", 0), timeout=20, what="the counter to be reset to 0")


async def _is(host: RunningHost, path: str, wanted: Any) -> bool:
    code, body, _ = await host.request("GET", path)
    return code == 200 and body == wanted


async def test_two_hosts_on_one_hub_run_each_timer_occurrence_once_in_total(
    connection_string: str, tmp_path: Path
) -> None:
    hub, env = unique_hub_name(), {"OPS_TICK_SCHEDULE": "*/1 * * * * *"}  # record_tick: every second
    try:
        async with (
            running_host(APPS / "v2_ops", connection_string, tmp_path, hub=hub, env=env) as first,
            running_host(APPS / "v2_ops", connection_string, tmp_path, "--no-worker", hub=hub, env=env) as second,
        ):
            both_running = datetime.now(timezone.utc).replace(microsecond=0).isoformat()

            async def four_ticks_since() -> list[dict[str, Any]] | None:
                code, entries, _ = await first.request("GET", "/api/entities/tick_log/ticks")
                ticks = entries if code == 200 else []
                return ticks if sum(tick["at"] > both_running for tick in ticks) >= 4 else None

            ticks = await wait_until(four_ticks_since, timeout=20, what="four ticks with both hosts running")
        # Each host wakes for every second of the same schedule (same app folder, so same host id); storage gave
        # each occurrence to one of them. An entry names its occurrence by the second it ran in: runs are tens of
        # milliseconds late (late_ms, in the message), far from the second that would make two names collide.
        occurrences = [tick["at"] for tick in ticks]
        assert len(occurrences) == len(set(occurrences)), ticks
        assert {tick["pid"] for tick in ticks} <= {first.process.pid, second.process.pid}
    finally:
        await delete_hub(connection_string, hub)
