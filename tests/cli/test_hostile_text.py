"""Stored text reaches an operator's terminal made visible: escape sequences, bidi overrides and rich markup from an
instance ID, input, output or worker ID print as text, while ``--json`` keeps every character exact."""

from __future__ import annotations

from datetime import datetime, timezone

from durable_storage import DurableOrchestrationClient, Worker
from durable_storage.cli._common import plain_text, table
from durable_storage.cli.hub import render_info
from durable_storage.cli.quarantine import _view as quarantine_view
from durable_storage.models import QuarantinedMessage
from durable_storage.taskhub import PartitionInfo, TaskHubInfo

from .conftest import Cli

# Retitles the window, rings the bell, clears the screen, reverses the text that follows; and rich markup.
TITLE = "\x1b]0;pwned\x07"
HOSTILE_ID = f"esc-{TITLE}-[bold]b[/bold]-\u202eevil"
HOSTILE_INPUT = "\x1b[2J\x9b31m[red]r[/red]"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def assert_visible(out: str) -> None:
    assert not [char for char in RAW if char in out], repr(out)


async def test_status_list_history_and_messages_show_hostile_text_as_text_and_json_keeps_it_exact(
    cli: Cli, client: DurableOrchestrationClient, worker: Worker
) -> None:
    await client.start_new("echo_orchestrator", HOSTILE_ID, HOSTILE_INPUT)
    await client.wait_for_completion(HOSTILE_ID, timeout=20, poll_interval=0.1)

    shown = await cli("status", HOSTILE_ID)
    listed = await cli("list", "--prefix", "esc-")
    history = await cli("history", HOSTILE_ID)
    terminated = await cli("terminate", HOSTILE_ID)
    raised = await cli("raise", HOSTILE_ID, "Evt")
    as_json = await cli("status", HOSTILE_ID, "--json")

    for ran in (shown, listed, history, terminated, raised):
        assert_visible(ran.out + ran.err)
    assert "esc-\\x1b]0;pwned\\x07-[bold]b[/bold]-\\u202eevil" in shown.out
    assert "\\x1b[2J\\x9b31m[red]r[/red]" in shown.out
    assert "esc-\\x1b]0;pwned\\x07-[bold]b[/bold]" in listed.out
    assert "[red]r[/red]" in history.out and "[bold]b[/bold]" in history.out
    assert "\\x1b]0;pwned\\x07" in terminated.out and raised.code == 1
    status = as_json.json()
    assert (status["instanceId"], status["input"], status["output"]) == (HOSTILE_ID, HOSTILE_INPUT, HOSTILE_INPUT)


def test_a_hub_info_and_the_quarantine_list_show_stored_names_as_text() -> None:
    when = datetime(2026, 11, 24, tzinfo=timezone.utc)
    partition = PartitionInfo(
        partition="hub-control-00",
        owner=f"worker{TITLE}",
        next_owner="[blink]w2[/blink]",
        expires_at=when,
        is_draining=False,
        depth=0,
        oldest_message_at=None,
        last_dequeue=None,
    )
    info = TaskHubInfo(
        name="hub",
        exists=True,
        partition_count=1,
        queues={"hub-control-00": 0, "hub-workitems": 0},
        tables={"hubHistory": True},
        containers={"hub-largemessages": True},
        partitions=(partition,),
    )
    message = QuarantinedMessage(
        queue="hub-control-00",
        message_id="m1",
        reason=f"bad {TITLE}",
        instance_id=HOSTILE_ID,
        dequeue_count=11,
        inserted_on=None,
        quarantined_at=when,
        body="{}",
    )

    shown = render_info(info, when) + plain_text(quarantine_view("hub", [message]))

    assert_visible(shown)
    assert "worker\\x1b]0;pwned\\x07" in shown and "[blink]w2[/blink]" in shown and "bad \\x1b]0;pwned" in shown


def test_a_table_prints_markup_in_a_str_cell_as_typed() -> None:
    rows = table("A", "B")
    rows.add_row("[bold]x[/bold]", "tab\there")

    assert plain_text(rows).splitlines()[1].split() == ["[bold]x[/bold]", "tab\\there"]
