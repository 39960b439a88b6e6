"""Sub-orchestrations: an orchestrator that runs other orchestrators as steps, here one per device, in parallel.

The Durable Functions device-provisioning sample: ``provision_new_devices`` starts ``device_provisioning`` once
per new device with ``call_sub_orchestrator`` (each child with an instance ID derived from its parent's, so it can
be found with ``get_status``) and waits for all of them with ``task_all``. Each child is an orchestration of its
own: it chains two activities and returns its result to the parent.

Run it with ``python -m samples.sub_orchestrations``: three sensors provisioned by three child orchestrations.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from collections.abc import Sequence
from typing import Any

import durable_storage as df
from samples import _run

app = df.App()


@app.orchestration_trigger(context_name="context")
def provision_new_devices(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    device_ids = context.get_input()

    provisioning_tasks = []
    for device_id in device_ids:
        child_id = f"{context.instance_id}-{device_id}"
        provisioning_tasks.append(context.call_sub_orchestrator("device_provisioning", device_id, child_id))

    return (yield context.task_all(provisioning_tasks))


@app.orchestration_trigger(context_name="context")
def device_provisioning(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    device_id = context.get_input()
    api_key = yield context.call_activity("create_api_key", device_id)
    yield context.call_activity("install_api_key", {"device_id": device_id, "api_key": api_key})
    return {"device_id": device_id, "provisioned_by": context.instance_id, "parent": context.parent_instance_id}


@app.activity_trigger(input_name="device_id")
def create_api_key(device_id: str) -> str:
    """A key for the device (a real one would come from a key store)."""
    return "key-" + hashlib.sha256(device_id.encode()).hexdigest()[:12]


@app.activity_trigger(input_name="installation")
def install_api_key(installation: dict[str, Any]) -> str:
    """Would push the key to the device."""
    return f"{installation['api_key']} installed on {installation['device_id']}"


async def workload(
    client: df.DurableOrchestrationClient,
    *,
    device_ids: Sequence[str] = ("sensor-1", "sensor-2", "sensor-3"),
    instance_id: str | None = None,
) -> bool:
    """Provision ``device_ids``; True when the parent completed with one child result per device."""
    instance_id = instance_id or f"provisioning-{uuid.uuid4().hex[:8]}"
    await client.start_new("provision_new_devices", instance_id, list(device_ids))
    status = await client.wait_for_completion(instance_id, timeout=60, poll_interval=0.2)
    if status.runtime_status is not df.OrchestrationRuntimeStatus.Completed:
        print(f"sub-orchestrations: {instance_id} {_run.describe(status)}")
        return False
    results: list[dict[str, Any]] = status.output or []  # task_all of no tasks is None
    print(f"sub-orchestrations: {instance_id} Completed: {len(results)} devices provisioned in parallel")
    print(f"  by the child orchestrations {', '.join(result['provisioned_by'] for result in results)}")
    return [result["device_id"] for result in results] == list(device_ids)


def main() -> int:
    """Run the sample on a local worker; the exit code is 0 when every device was provisioned."""
    return _run.main(app, workload)


if __name__ == "__main__":
    sys.exit(main())
