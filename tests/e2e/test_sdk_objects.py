"""An app written on azure.durable_functions runs on our worker with the SDK's own objects (issue 18, point 6).

``tests.e2e.sdk_apps`` registers ``df.Orchestrator.create`` / ``df.Entity.create`` handles as the host's loader does,
and its orchestrator passes ``df.RetryOptions``, ``df.EntityId`` and a custom class to our context.
"""

from __future__ import annotations

import pytest

from durable_storage import DurableOrchestrationClient, EntityId, OrchestrationRuntimeStatus
from tests.e2e.sdk_apps import Parcel
from tests.e2e.support import names

pytestmark = pytest.mark.usefixtures("sdk_worker")


async def test_retry_options_entity_ids_and_custom_classes_of_the_sdk_work_end_to_end(
    client: DurableOrchestrationClient,
) -> None:
    instance_id = await client.start_new("Ship", client_input=Parcel("box", 3))

    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is OrchestrationRuntimeStatus.Completed, status
    # The status shows the custom object in its wire form, as the Durable Functions HTTP API does.
    assert status.output["parcel"] == {
        "__class__": "Parcel",
        "__module__": "tests.e2e.sdk_apps",
        "__data__": {"label": "BOX", "weight": 6},
    }
    assert status.output["tally"] == 7  # the signal's 1, then the call's 6
    history = await client.get_history(instance_id)
    assert names(history) == ["Weigh", "Weigh"]  # df.RetryOptions(100, 3): the first attempt failed
    state = await client.read_entity_state(EntityId("Tally", "box"))
    assert state.entity_state == 7
