"""The pytest plugin, used as a user's ``conftest.py`` would: its own Azurite and a fresh task hub per test.

``pytest_plugins`` here enables it as ``pytest_plugins = ["durable_storage.testing.pytest_plugin"]`` in a user's
top-level conftest.py does; ``azurite_connection_string`` then starts a private Azurite for the run (or uses
``$DURABLE_STORAGE_TEST_CONNECTION``), and ``task_hub`` creates a hub for each test and deletes it after.
"""

from __future__ import annotations

from typing import Any

from durable_storage import App, OrchestrationRuntimeStatus, Worker
from durable_storage.testing import ThrowawayHub, throwaway_hub
from tests.e2e.support import fast_options

pytest_plugins = ["durable_storage.testing.pytest_plugin"]

app = App()


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@app.orchestration_trigger(context_name="context")
def hello(context: Any) -> Any:
    return (yield context.call_activity("say_hello", context.get_input()))


async def test_an_orchestration_runs_end_to_end_on_the_plugins_hub(task_hub: ThrowawayHub) -> None:
    async with task_hub.client() as client, Worker(client, app, options=fast_options()):
        instance_id = await client.start_new("hello", client_input="Tokyo")
        status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert (status.runtime_status, status.output) == (OrchestrationRuntimeStatus.Completed, "Hello Tokyo!")


async def test_the_hub_exists_during_the_test_and_is_deleted_after_it(azurite_connection_string: str) -> None:
    # What the task_hub fixture does around each test.
    with throwaway_hub(azurite_connection_string, prefix="gone") as hub:
        async with hub.task_hub() as during:
            assert await during.stored_partition_count() == hub.partition_count
    async with hub.task_hub() as after:
        assert await after.stored_partition_count() is None
    assert hub.name.startswith("gone") and azurite_connection_string not in repr(hub)
