"""The command line with values a table cannot hold, or a terminal cannot print (issue 17 items 2, 6, 10).

``--start-at`` before 1601 is refused with the allowed range before anything is written (it used to write a row
that ``status`` and ``list`` could not read); stored text with a lone surrogate is shown as an escape instead of
ending ``status`` and ``list`` with a UnicodeEncodeError; a prefix ending in U+10FFFF lists what it names.
"""

from __future__ import annotations

from durable_storage import DurableOrchestrationClient
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub
from tests.cli.conftest import Cli
from tests.client.support import table_rows, write_row


async def test_a_start_time_before_1601_is_refused_with_the_range_and_nothing_is_written(
    cli: Cli, hub: TaskHub
) -> None:
    for when in ("0001-01-01T00:00:00Z", "0999-06-01T00:00:00+05:00", "1600-12-31T23:59:59Z"):
        ran = await cli("start", "echo_orchestrator", "--id", "ancient", "--start-at", when)

        assert ran.code == 2, ran
        assert "start_at " in ran.err and "must be from 1601-01-01T00:00:00Z to 9999-12-31T23:59:59Z" in ran.err
    assert await table_rows(hub, "Instances") == 0
    assert (await cli("list")).code == 0


async def test_a_lone_surrogate_in_stored_text_is_shown_as_an_escape(
    cli: Cli, client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    # As the HTTP API stores the JSON body "\ud800": a str that UTF-8 cannot encode once decoded.
    await write_row(hub, "odd", Status.Completed, input='"\\ud800"', output='"x\\udfffy"', custom_status='"\\ud800"')

    status = await cli("status", "odd")
    listed = await cli("list")
    as_json = await cli("status", "odd", "--json")

    assert status.code == listed.code == as_json.code == 0, (status, listed)
    assert "x\\udfffy" in status.out and "\\ud800" in status.out
    assert "x\\udfffy" in listed.out
    assert as_json.json()["output"] == "x\udfffy"  # --json stays exact


async def test_a_prefix_ending_in_the_last_code_point_lists_the_ids_it_names(cli: Cli, hub: TaskHub) -> None:
    for instance_id in ("p\U0010ffff", "p\U0010ffff-2", "p\uffff", "q"):
        await write_row(hub, instance_id, Status.Completed)

    ran = await cli("list", "--prefix", "p\U0010ffff", "--json")

    assert ran.code == 0, ran
    assert sorted(s["instanceId"] for s in ran.json()) == ["p\U0010ffff", "p\U0010ffff-2"]


async def test_an_input_nested_10000_deep_is_refused_naming_the_depth(cli: Cli, hub: TaskHub) -> None:
    ran = await cli("start", "echo_orchestrator", "--input", "[" * 10_000 + "]" * 10_000)

    assert ran.code == 2 and "nested over" in ran.err, ran
    assert await table_rows(hub, "Instances") == 0
