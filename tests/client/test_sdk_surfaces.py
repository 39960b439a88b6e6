"""What an app written for azure-functions-durable 1.7, or its unit tests, uses of the client and the models
(issue 19): inputs by default, the SDK's constructor keywords, hub arguments, HTTP responses, from_json."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import SimpleNamespace

import azure.functions as func
import pytest

import durable_storage as df
from durable_storage import ConfigurationError, DurableOrchestrationClient, TaskHub
from durable_storage._dotnet_json import encode_event
from durable_storage.app import FunctionKind
from durable_storage.models import DurableOrchestrationStatus, EntityId, PurgeHistoryResult
from durable_storage.models import OrchestrationRuntimeStatus as Status
from durable_storage.replay import DurableOrchestrationContext, replay
from durable_storage.testing.history import HistoryBuilder
from tests.client.support import write_row

REQUEST = SimpleNamespace(url="http://localhost:8000/api/start")


# --- 1. inputs by default; to_json has every key ----------------------------------------------------------------


async def test_status_queries_include_the_input_unless_told_not_to(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "in-1", Status.Running, input='{"city": "Tokyo"}')

    assert (await client.get_status("in-1")).input_ == {"city": "Tokyo"}
    assert (await client.get_status("in-1", show_input=False)).input_ is None
    assert [s.input_ for s in await client.get_status_by(instance_id_prefix="in-")] == [{"city": "Tokyo"}]
    assert [s.input_ for s in await client.get_status_all()] == [{"city": "Tokyo"}]


def test_to_json_always_has_the_sdks_keys() -> None:
    keys = {"name", "instanceId", "createdTime", "lastUpdatedTime", "input", "output", "runtimeStatus"}
    keys |= {"customStatus", "history"}
    assert set(DurableOrchestrationStatus().to_json()) == keys
    assert set(DurableOrchestrationStatus(instanceId="x", runtimeStatus="Running").to_json()) == keys


# --- 2. signatures ----------------------------------------------------------------------------------------------


async def test_start_new_takes_the_version_positionally(client: DurableOrchestrationClient, hub: TaskHub) -> None:
    await client.start_new("hello", "v-1", {"a": 1}, "2.0")

    record = await hub.instances.read("v-1")
    assert record is not None and record.version == "2.0"


async def test_hub_arguments_name_this_hub_or_say_how_to_reach_another(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "t-1", Status.Running)
    await client.raise_event("t-1", "go", 1, hub.name, "Storage")  # this hub, the host's default connection
    await client.terminate("t-1", "done", task_hub_name=hub.name)
    assert (await client.read_entity_state(EntityId("c", "k"), hub.name)).entity_exists is False

    with pytest.raises(ConfigurationError, match=r"task_hub_name 'OtherHub' is not this client's task hub.*from_env"):
        await client.raise_event("t-1", "go", None, "OtherHub")
    with pytest.raises(ConfigurationError, match=r"connection_name 'Archive' is not this client's connection"):
        await client.purge_instance_history("t-1", connection_name="Archive")
    with pytest.raises(ConfigurationError, match="task_hub_name"):
        await client.signal_entity(EntityId("c", "k"), "add", 1, "OtherHub")
    with pytest.raises(ConfigurationError, match="task_hub_name"):
        await client.rewind("t-1", "why", task_hub_name="OtherHub")


async def test_purge_by_without_a_start_time_raises_value_error_as_the_sdk() -> None:
    client = DurableOrchestrationClient.from_connection_string("UseDevelopmentStorage=true")
    with pytest.raises(ValueError, match="created_time_from"):
        await client.purge_instance_history_by()


# --- 3. HTTP responses -------------------------------------------------------------------------------------------


async def test_wait_for_completion_or_check_status_answers_as_the_sdk(
    client: DurableOrchestrationClient, hub: TaskHub
) -> None:
    await write_row(hub, "done", Status.Completed, output='{"total": 3}')
    await write_row(hub, "broke", Status.Failed, output='"ValueError: no"')
    await write_row(hub, "busy", Status.Running)
    wait = client.wait_for_completion_or_create_check_status_response

    done = await wait(REQUEST, "done")
    broke = await wait(REQUEST, "broke", 500, 100)
    busy = await wait(REQUEST, "busy", timeout_in_milliseconds=300, retry_interval_in_milliseconds=100)

    assert isinstance(done, func.HttpResponse) and done.status_code == 200
    assert json.loads(done.get_body()) == {"total": 3} and done.mimetype == "application/json"
    assert broke.status_code == 500 and json.loads(broke.get_body())["runtimeStatus"] == "Failed"
    assert busy.status_code == 202 and busy.headers["Location"].startswith(client.management_base_url)
    with pytest.raises(ConfigurationError, match="retry_interval_in_milliseconds 2000"):
        await wait(REQUEST, "busy", 1000, 2000)


# --- 4. decorators and handles -----------------------------------------------------------------------------------


class Order:
    def __init__(self, item: str) -> None:
        self.item = item

    @staticmethod
    def to_json(obj: Order) -> dict[str, str]:
        return {"item": obj.item}

    @staticmethod
    def from_json(data: dict[str, str]) -> Order:
        return Order(data["item"])


def test_decorators_take_the_sdks_arguments() -> None:
    app = df.App()

    @app.function_name("renamed", setting_extra_fields={"x": 1})
    @app.orchestration_trigger(context_name="context", orchestration=None, input_type=Order)
    def flow(context: DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        order = context.get_input()
        return order.item
        yield

    # An envelope naming a module this process never loaded: only input_type can decode it.
    envelope = {"__class__": "Order", "__module__": "orders_v1", "__data__": {"item": "tea"}}
    builder = HistoryBuilder("o").started("renamed", input=envelope)
    history = [encode_event(e) for e in builder.events]
    context = DurableOrchestrationContext.from_json(json.dumps({"history": history, "instanceId": "o"}))
    assert app.names(FunctionKind.ORCHESTRATOR) == ["renamed"]
    # get_input() decodes into input_type; the replay engine reads it from the registered function.
    result = replay(flow, instance_id="o", past_events=[], new_events=builder.events)
    assert result.completion is not None and json.loads(result.completion.output or "") == "tea"
    assert context.get_input(Order).item == "tea"


def test_orchestrator_and_entity_handles_are_callables_with_the_function() -> None:
    def flow(context: object) -> str:
        return "ran"

    def counter(context: object) -> str:
        return "op"

    orchestrator, entity = df.Orchestrator.create(flow), df.Entity.create(counter)
    assert orchestrator.orchestrator_function is flow and orchestrator(object()) == "ran"
    assert entity.entity_function is counter and entity(object()) == "op"
    app = df.App()
    app.orchestration("flow", orchestrator)
    app.entity("counter", entity)
    assert app.get(FunctionKind.ORCHESTRATOR, "flow").function is flow


# --- 5. what app unit tests build --------------------------------------------------------------------------------


def test_statuses_and_purge_results_are_built_from_the_hosts_json() -> None:
    status = DurableOrchestrationStatus(
        name="hello",
        instanceId="i",
        createdTime="2026-01-02T03:04:05.000000Z",
        lastUpdatedTime="2026-01-02T03:04:06Z",
        input={"a": 1},
        output="ok",
        runtimeStatus="Completed",
        customStatus=None,
        history=None,
        extra="kept",
    )
    parsed = DurableOrchestrationStatus.from_json(status.to_json())

    assert status.runtime_status is Status.Completed and status.instance_id == "i" and status.input_ == {"a": 1}
    assert status.created_time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert status.extra == "kept"  # type: ignore[attr-defined]  # unknown keys become attributes, as the SDK's
    assert parsed == status and bool(parsed)
    assert not DurableOrchestrationStatus.from_json("No instance with ID 'x' found.")
    with pytest.raises(ValueError, match="runtimeStatus 'Done' is invalid"):
        DurableOrchestrationStatus(runtimeStatus="Done")
    assert PurgeHistoryResult(instancesDeleted=2).instances_deleted == 2
    assert PurgeHistoryResult.from_json({"instancesDeleted": 3}).instances_deleted == 3
    assert PurgeHistoryResult(4) == PurgeHistoryResult(instances_deleted=4)


def test_an_orchestration_context_from_the_hosts_json() -> None:
    builder = HistoryBuilder("ctx-1").started("hello", input="Tokyo").scheduled("say_hello", "Tokyo")
    payload = {
        "history": [encode_event(e) for e in builder.events],
        "input": '"Tokyo"',
        "instanceId": "ctx-1",
        "isReplaying": True,
        "parentInstanceId": None,
        "upperSchemaVersion": 2,
    }

    context = DurableOrchestrationContext.from_json(json.dumps(payload))

    assert context.instance_id == "ctx-1" and context.get_input() == "Tokyo" and context.is_replaying
    assert context.current_utc_datetime == builder.events[0].timestamp
    assert context.function_context.upperSchemaVersion == 2
    first, scheduled = context.histories[1], context.histories[-1]
    assert first.event_type == 0 and first.Name == "hello" and first.is_played is False
    assert scheduled.Name == "say_hello" and scheduled.Result is None  # absent members are None, as the SDK's
    task = context.call_activity("say_hello", "Tokyo")
    assert isinstance(task, df.models.TaskBase)


def test_an_entity_context_from_the_hosts_json() -> None:
    payload = {"self": {"name": "counter", "key": "k"}, "exists": True, "state": "5", "batch": [{"name": "add"}]}

    context, batch = df.DurableEntityContext.from_json(json.dumps(payload))

    assert (context.entity_name, context.entity_key, context.get_state()) == ("counter", "k", 5)
    assert batch == [{"name": "add"}]


def test_models_exports_what_the_sdks_models_package_does() -> None:
    models = df.models
    assert models.DurableOrchestrationClient is df.DurableOrchestrationClient
    assert models.DurableOrchestrationContext is DurableOrchestrationContext
    bindings = models.DurableOrchestrationBindings.from_json(
        json.dumps({"taskHubName": "h", "creationUrls": {}, "managementUrls": {}, "rpcBaseUrl": "http://x/", "z": 1})
    )
    assert bindings.task_hub_name == "h" and bindings.client_data.z == 1
    assert models.OrchestratorState(True, [], "out").to_json() == {"isDone": True, "actions": [], "output": "out"}
    assert EntityId.get_entity_id_url_path(EntityId("Counter", "k")) == "entities/Counter/k"
