"""get_status and get_history: status objects as azure-functions-durable's, read from the Instances row.

Not found gives a falsy status. Output is JSON-decoded when Completed and the text itself when Failed (the failure
message) or Terminated (the reason). A row left saying Running after its history ended is repaired from History.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from durable_storage import DurableOrchestrationClient, DurableOrchestrationStatus
from durable_storage._envelope import encode_message
from durable_storage.client._outgoing import start_message
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.taskhub import TaskHub

from .support import EXECUTION, T0, ended, history, write_history, write_row


async def test_an_unknown_instance_gives_a_falsy_status_with_the_hosts_message(
    client: DurableOrchestrationClient,
) -> None:
    status = await client.get_status("ghost")

    assert not status
    assert status.instance_id == "ghost" and status.runtime_status is None and status.created_time is None
    assert status.message == "No instance with ID 'ghost' found."
    # Every key of the SDK's to_json, unset ones None (the SDK's own would fail on the missing createdTime).
    assert status.to_json() == {
        "name": None,
        "instanceId": "ghost",
        "createdTime": None,
        "lastUpdatedTime": None,
        "output": None,
        "input": None,
        "runtimeStatus": None,
        "customStatus": None,
        "history": None,
    }


async def test_a_running_instance_reads_back_with_decoded_payloads(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "r", Status.Running, input='{"city": "Tokyo"}', custom_status='{"step": 2}')

    plain = await client.get_status("r", show_input=False)
    with_input = await client.get_status("r")  # the input by default, as the Functions host answers the SDK

    assert plain
    assert (plain.name, plain.instance_id, plain.runtime_status) == ("hello", "r", Status.Running)
    assert plain.created_time == T0 and type(plain.created_time) is datetime
    assert plain.created_time.tzinfo is timezone.utc and plain.last_updated_time is not None
    assert plain.input_ is None and plain.custom_status == {"step": 2} and plain.output is None
    assert plain.history is None
    assert with_input.input_ == {"city": "Tokyo"}


async def test_output_is_json_when_completed_and_text_when_failed_or_terminated(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "ok", Status.Completed, output='["Hello Tokyo!", 2]', custom_status="null")
    await write_row(hub, "bad", Status.Failed, output="ValueError: card declined")
    await write_row(hub, "stop", Status.Terminated, output="42")

    ok, bad, stop = [await client.get_status(i) for i in ("ok", "bad", "stop")]

    assert ok.output == ["Hello Tokyo!", 2] and ok.custom_status is None
    assert bad.output == "ValueError: card declined"
    assert stop.output == "42"  # a reason is text, even one that looks like JSON


async def test_text_that_is_not_json_is_returned_as_text(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    # A .NET client may store a raw string input (messagedata-executionstarted-client-corelib.json: "input").
    await write_row(hub, "dotnet", Status.Running, input="input")

    assert (await client.get_status("dotnet", show_input=True)).input_ == "input"


async def test_show_history_gives_the_durable_functions_form(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    builder = history("h").started("hello", input="Tokyo").scheduled("say_hello", "Tokyo").episode()
    events = ended(builder.completed(0, "Hello Tokyo!"), Status.Completed, result='"Hello Tokyo!"')
    await write_history(hub, "h", events)
    await write_row(hub, "h", Status.Completed, output='"Hello Tokyo!"')

    summary = (await client.get_status("h", show_history=True)).history
    full = (await client.get_status("h", show_history=True, show_history_output=True)).history

    assert summary is not None and full is not None
    assert [e["EventType"] for e in summary] == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    assert summary[0] == {"EventType": "ExecutionStarted", "FunctionName": "hello", "Timestamp": "2026-03-01T12:00:01Z"}
    assert summary[1]["FunctionName"] == "say_hello" and summary[1]["ScheduledTime"] == "2026-03-01T12:00:02Z"
    assert summary[2]["OrchestrationStatus"] == "Completed" and "Result" not in summary[2]
    assert full[0]["Input"] == "Tokyo" and full[1]["Result"] == "Hello Tokyo!" and full[2]["Result"] == "Hello Tokyo!"
    assert json.loads(json.dumps(full)) == full


async def test_a_running_row_whose_history_ended_is_repaired(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    # A worker crashed after its History write and before its Instances write (storage-layout.md §5.6 step 3).
    builder = history("stale").started("hello").scheduled("say_hello").episode().completed(0, "hi")
    await write_history(hub, "stale", ended(builder, Status.Completed, result='"hi"'))
    await write_row(hub, "stale", Status.Running)

    status = await client.get_status("stale")

    row = await hub.instances.read("stale")
    assert status.runtime_status is Status.Completed and status.output == "hi"
    assert row is not None and row.runtime_status is Status.Completed and row.output == '"hi"'
    assert row.completed_time is not None and row.execution_id == EXECUTION


async def test_a_running_row_whose_history_goes_on_is_left_alone(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_history(hub, "busy", history("busy").started("hello").scheduled("say_hello").events)
    await write_row(hub, "busy", Status.Running)
    # History of an older execution that ended does not count: only the row's execution is looked at.
    await write_history(hub, "older", ended(history("older", "e0").started("hello"), Status.Completed), "e0")
    await write_row(hub, "older", Status.Running)

    assert (await client.get_status("busy")).runtime_status is Status.Running
    assert (await client.get_status("older")).runtime_status is Status.Running


async def test_status_objects_serialize_as_json(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    await write_row(hub, "s", Status.Completed, output='{"total": 3}', custom_status='"almost"')

    status = await client.get_status("s", show_input=True)

    assert isinstance(status, DurableOrchestrationStatus)
    assert json.loads(json.dumps(status.to_dict())) == status.to_dict()
    assert status.to_dict()["runtime_status"] == "Completed" and status.to_dict()["input"] == "Tokyo"
    assert status.to_json() == {
        "name": "hello",
        "instanceId": "s",
        "createdTime": "2026-03-01T12:00:00.000000Z",
        "lastUpdatedTime": "2026-03-01T12:00:01.000000Z",
        "output": {"total": 3},
        "input": "Tokyo",
        "runtimeStatus": "Completed",
        "customStatus": "almost",
        "history": None,
    }


async def test_get_history_returns_every_event_as_json(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    events = history("g").started("hello", input=[1]).scheduled("say_hello", 1).episode().failed(0, "boom").events
    await write_history(hub, "g", events)

    got = await client.get_history("g")

    assert json.loads(json.dumps(got)) == got
    assert [e["EventType"] for e in got] == [
        "OrchestratorStarted",
        "ExecutionStarted",
        "TaskScheduled",
        "OrchestratorCompleted",
        "OrchestratorStarted",
        "TaskFailed",
    ]
    assert got[1]["Name"] == "hello" and got[1]["Input"] == "[1]" and got[1]["EventId"] == -1
    assert got[1]["OrchestrationInstance"] == {"InstanceId": "g", "ExecutionId": EXECUTION}
    assert got[2]["EventId"] == 0 and got[5]["TaskScheduledId"] == 0 and got[5]["Reason"] == "boom"
    assert await client.get_history("ghost") == []


async def test_an_input_a_dotnet_client_left_in_its_start_message_blob_is_read_from_it(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    message = start_message(
        instance_id="net",
        execution_id=EXECUTION,
        name="hello",
        version="",
        input='{"large": true}',
        now=T0,
        scheduled_start_time=None,
        generation=0,
    )
    blob = f"net/message-{message.activity_id.hex}-ExecutionStarted.json.gz"
    await hub.account.blobs.upload_text(hub.names.large_messages_container, blob, encode_message(message))
    await write_row(hub, "net", Status.Pending, input=hub.large.url(blob))

    assert (await client.get_status("net", show_input=True)).input_ == {"large": True}


async def test_a_payload_whose_blob_is_gone_shows_as_a_note_and_never_fails_a_listing(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    big = json.dumps("z" * 100_000)  # over the 60 KiB column limit: Input and Output go to blobs
    await write_row(hub, "lost", Status.Completed, input=big, output=big)
    await write_row(hub, "intact", Status.Completed, input=big, output=big)
    await client.start_new("hello", "lost-start", "s" * 100_000)  # Pending, its input in a blob since the start
    container = hub.names.large_messages_container
    for prefix in ("lost/", "lost-start/"):
        for name in await hub.account.blobs.list_names(container, prefix=prefix):
            assert await hub.account.blobs.delete(container, name)  # lost by hand, as an operator might

    listed = {s.instance_id: s for s in await client.get_status_all()}
    by = {s.instance_id: s for s in await client.get_status_by(runtime_status=[Status.Completed, Status.Pending])}
    shown = [s async for s in client.list_instances(show_input=True)]
    single = await client.get_status("lost", show_input=True)

    assert set(listed) == set(by) == {s.instance_id for s in shown} == {"lost", "intact", "lost-start"}
    assert (listed["intact"].output, listed["intact"].message) == ("z" * 100_000, None)
    assert listed["lost"].runtime_status is Status.Completed and listed["lost"].created_time == T0
    assert re.fullmatch(
        r"\[output unavailable: blob 'lost/history--Output-[0-9A-F]{8}-Output\.json\.gz' does not exist\]",
        listed["lost"].output,
    )
    assert listed["lost"].input_.startswith("[input unavailable: blob 'lost/history--Input-")  # inputs by default
    assert listed["lost"].message == f"{listed['lost'].input_}; {listed['lost'].output}"
    assert single.input_.startswith("[input unavailable: blob 'lost/history--Input-")
    assert single.message == f"{single.input_}; {single.output}"
    pending = next(s for s in shown if s.instance_id == "lost-start")
    assert pending.runtime_status is Status.Pending
    assert pending.input_.startswith("[input unavailable: blob 'lost-start/") and pending.input_.endswith("exist]")
