"""The cost report: transactions estimated from a history as performance.md §5 counts them, prices, bytes held."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from durable_storage import App, DurableOrchestrationClient, Worker
from durable_storage.__main__ import main
from durable_storage._storage.tables import Row
from durable_storage.errors import ConfigurationError, InstanceNotFoundError
from durable_storage.gate._cost import CostReport, Prices, cost_columns, entity_size, instance_cost, transactions_usd
from durable_storage.taskhub import TaskHub
from tests.e2e.support import fast_options

app = App()
BIG = 70_000  # characters: over the 45 KB queue message and 60 KiB table property limits, so it goes to blobs


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@app.activity_trigger(input_name="size")
def make_big(size: int) -> str:
    return "x" * size


@app.orchestration_trigger(context_name="context")
def hello_cities5(context: Any) -> Any:
    greetings = []
    for city in ("Tokyo", "Seattle", "London", "Oslo", "Lima"):
        greetings.append((yield context.call_activity("say_hello", city)))
    return greetings


@app.orchestration_trigger(context_name="context")
def big_payload(context: Any) -> Any:
    text = yield context.call_activity("make_big", BIG)
    return len(text)


async def run_to_completion(client: DurableOrchestrationClient, name: str) -> str:
    async with Worker(client, app, options=fast_options()):
        instance_id = await client.start_new(name)
        status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)
    assert status.runtime_status.name == "Completed", status
    return instance_id


def counts(report: CostReport) -> Counter[tuple[str, str]]:
    return Counter({(line.service, line.operation): line.count for line in report.transactions})


# --- the model, on real histories -----------------------------------------------------------------------------------


async def test_hello_cities5_costs_the_53_requests_of_the_dotnet_accounting(
    hub: TaskHub, client: DurableOrchestrationClient
) -> None:
    instance_id = await run_to_completion(client, "hello_cities5")

    report = await instance_cost(hub, instance_id)

    # performance.md §5.2: client 3; 6 episodes x (receive, History read, History write, Instances write, delete);
    # 5 activities x (work-item put, receive, result put, delete).
    assert counts(report) == {
        ("queue", "put_message"): 11,
        ("queue", "get_messages"): 11,
        ("queue", "delete_message"): 11,
        ("table", "query_entities"): 6,
        ("table", "batch"): 6,
        ("table", "merge_entity"): 6,
        ("table", "get_entity"): 1,
        ("table", "insert_entity"): 1,
    }
    assert report.total_transactions == 53
    assert (report.name, report.runtime_status, report.episodes) == ("hello_cities5", "Completed", 6)
    assert report.transactions_usd == pytest.approx(33 * 0.004 / 10_000 + 20 * 0.00036 / 10_000)
    assert report.history_bytes > 0 and report.instance_bytes > 0
    assert (report.blob_count, report.blob_bytes) == (0, 0)


async def test_large_payloads_count_their_blobs_and_bytes(hub: TaskHub, client: DurableOrchestrationClient) -> None:
    instance_id = await run_to_completion(client, "big_payload")

    report = await instance_cost(hub, instance_id)

    assert report.blob_count >= 2  # the activity's result message and its History row
    assert 0 < report.blob_bytes < BIG  # gzip: 70,000 x's compress to almost nothing
    assert counts(report)["blob", "put_blob"] >= report.blob_count
    assert report.storage_usd_per_month > 0


async def test_only_the_instances_own_blobs_are_counted(hub: TaskHub, client: DurableOrchestrationClient) -> None:
    await client.start_new("big_payload", "pq", "small")
    await client.start_new("big_payload", "pq/child", "x" * BIG)  # its start message blob is "pq/child/message-..."

    assert ((await instance_cost(hub, "pq")).blob_count, (await instance_cost(hub, "pq/child")).blob_count) == (0, 2)


async def test_an_unknown_instance_is_not_found(hub: TaskHub) -> None:
    with pytest.raises(InstanceNotFoundError, match="instance 'nobody' was not found"):
        await instance_cost(hub, "nobody")


async def test_the_cost_command_prints_kinds_price_and_bytes_and_its_json_parses(
    connection_string: str,
    hub: TaskHub,
    client: DurableOrchestrationClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    instance_id = await run_to_completion(client, "hello_cities5")
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"table_per_10k": 10_000.0, "queue_class1_per_10k": 0, "queue_class2_per_10k": 0}))
    bad_prices = tmp_path / "bad.json"
    bad_prices.write_text(json.dumps({"tables": 1}))

    async def cost(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(main, ["--connection", connection_string, "--task-hub", hub.name, "cost", *args])
        return code, *capsys.readouterr()

    text, as_json, priced, bad = [
        await cost(*args)
        for args in (
            [instance_id],
            [instance_id, "--json"],
            [instance_id, "--json", "--prices", str(prices)],
            [instance_id, "--prices", str(bad_prices)],
        )
    ]

    assert text[0] == 0
    assert "queue    put_message     11" in text[1] and "total                    53" in text[1]
    assert "History rows" in text[1] and "Instances row" in text[1] and "blobs (0)" in text[1]
    report = json.loads(as_json[1])
    assert report["total_transactions"] == 53 and report["estimated"] is True
    assert report["bytes"]["total"] == report["bytes"]["history"] + report["bytes"]["instance"]
    assert json.loads(priced[1])["transactions_usd"] == pytest.approx(20.0)  # 20 table transactions at $1 each
    assert bad[0] == 2 and "price 'tables' is unknown: must be one of queue_class1_per_10k" in bad[2]


# --- prices, sizes and the short form -------------------------------------------------------------------------------


def test_prices_are_overridable_by_name_and_refuse_what_they_do_not_know() -> None:
    prices = Prices.from_dict({"table_per_10k": 1.0})

    assert prices.table_per_10k == 1.0 and prices.blob_gb_month == Prices().blob_gb_month
    assert Prices.from_dict(prices.to_dict()) == prices
    with pytest.raises(ConfigurationError, match="price 'queue' is unknown: must be one of queue_class1_per_10k"):
        Prices.from_dict({"queue": 1})
    with pytest.raises(ConfigurationError, match="price table_per_10k -1 is invalid: must be a finite number of USD"):
        Prices(table_per_10k=-1)
    with pytest.raises(ConfigurationError, match="prices is a list: must be a JSON object"):
        Prices.from_dict([1])


def test_each_operation_is_priced_in_its_class() -> None:
    prices = Prices(
        queue_class1_per_10k=1, queue_class2_per_10k=2, table_per_10k=3, blob_write_per_10k=4, blob_read_per_10k=5
    )
    tally = {
        ("queue", "put_message"): 10_000,
        ("queue", "get_messages"): 10_000,
        ("table", "batch"): 10_000,
        ("blob", "put_blob"): 10_000,
        ("blob", "get_blob"): 10_000,
        ("blob", "delete_blob"): 10_000,  # free
    }

    assert transactions_usd(tally, prices) == pytest.approx(1 + 2 + 3 + 4 + 5)


def test_an_entity_is_sized_as_azure_bills_it() -> None:
    row = Row("pk", "rk", {"Name": "ab", "EventId": 5, "IsPlayed": True})

    # 4 + keys (2+2 chars) x 2 + Timestamp (8 + 9x2 + 8) + each property: 8 + name x 2 + value
    expected = 4 + 8 + 34 + (8 + 8 + 4 + 4) + (8 + 14 + 4) + (8 + 16 + 1)
    assert entity_size(row) == expected


def test_the_short_form_for_a_list_column() -> None:
    report = CostReport(
        instance_id="i",
        name="o",
        runtime_status="Running",
        execution_id="e",
        episodes=1,
        events=3,
        transactions=(),
        history_bytes=2048,
        instance_bytes=512,
        blob_bytes=0,
        blob_count=0,
        prices=Prices(),
    )

    assert cost_columns(report) == {"Transactions": "0", "Est. USD": "$0.0000000", "Stored": "2.5 KiB"}
