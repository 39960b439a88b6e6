"""The management API's operations on instances and entities: raise, terminate, suspend/resume, rewind, restart,
purge, entity signal and read; 202 when accepted, 404 unknown, 410 ended, 412 not allowed in that status."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from durable_storage.errors import InstanceStateError
from durable_storage.models import EntityId, OrchestrationRuntimeStatus
from durable_storage.testing import wait_until
from tests.client.support import write_row
from tests.web.support import API, Served, unique


async def test_raise_event_needs_json_and_a_live_instance(served: Served) -> None:
    instance_id = unique("raise") + "1"
    await served.client.start_new("collect", instance_id, 1)
    await served.reaches(instance_id, "Running")
    url = f"{API}/instances/{instance_id}/raiseEvent/Item"

    async with served.http.post(url, data="plain", headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 400
        assert (await response.json())["Message"] == "Only application/json request content is supported"
    async with served.http.post(url, data="{oops", headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
    async with served.http.post(url, json={"sku": 1}) as response:
        assert response.status == 202

    status = await served.reaches(instance_id, "Completed")
    assert status["output"] == [{"sku": 1}]
    async with served.http.post(url, json=2) as response:
        assert response.status == 410
    async with served.http.post(f"{API}/instances/{unique('nobody')}/raiseEvent/Item", json=2) as response:
        assert response.status == 404


async def test_suspend_resume_and_terminate_with_a_reason(served: Served) -> None:
    instance_id = unique("lifecycle") + "1"
    await served.client.start_new("collect", instance_id, 1)
    await served.reaches(instance_id, "Running")
    base = f"{API}/instances/{instance_id}"

    async with served.http.post(f"{base}/suspend?reason=checking") as response:
        assert response.status == 202
    await served.reaches(instance_id, "Suspended")
    async with served.http.post(f"{base}/resume?reason=fine") as response:
        assert response.status == 202
    await served.reaches(instance_id, "Running")
    async with served.http.post(f"{base}/terminate?reason=cancelled+by+the+test") as response:
        assert response.status == 202
        assert await response.read() == b""

    status = await served.reaches(instance_id, "Terminated")
    assert status["output"] == "cancelled by the test"
    for operation in ("terminate", "suspend", "resume"):
        async with served.http.post(f"{base}/{operation}") as response:
            assert response.status == 410, operation
        async with served.http.post(f"{API}/instances/{unique('nobody')}/{operation}") as response:
            assert response.status == 404, operation
    async with served.http.post(f"{base}/explode") as response:
        assert response.status == 404


async def test_rewind_runs_a_failed_instance_again(served: Served) -> None:
    instance_id = unique("rewind") + "1"
    await served.client.start_new("flaky_then_done", instance_id, {"key": instance_id, "failures": 1})
    await served.reaches(instance_id, "Failed")
    running = unique("rewind-running") + "1"
    await served.client.start_new("collect", running, 1)
    await served.reaches(running, "Running")

    async with served.http.post(f"{API}/instances/{running}/rewind?reason=no") as response:
        assert response.status == 412
        assert '"Failed"' in (await response.json())["Message"]
    async with served.http.post(f"{API}/instances/{unique('nobody')}/rewind") as response:
        assert response.status == 404
    async with served.http.post(f"{API}/instances/{instance_id}/rewind?reason=fixed") as response:
        assert response.status == 202

    status = await served.reaches(instance_id, "Completed")
    assert status["output"] == ["first step", f"{instance_id} succeeded on attempt 2"]


async def test_the_client_and_the_http_api_treat_an_ended_instance_as_durable_functions_does(served: Served) -> None:
    # The host answers 410 Gone to all five; the published SDK counts 410 as success for terminate, suspend and
    # resume (the call returns) and raises for raise_event and rewind (python-api.md, functions-host.md §2.2-2.3).
    instance_id = unique("ended") + "1"
    await served.client.start_new("echo_orchestrator", instance_id, "done")
    await served.reaches(instance_id, "Completed")
    base = f"{API}/instances/{instance_id}"

    for operation in ("terminate", "suspend", "resume", "rewind"):
        async with served.http.post(f"{base}/{operation}?reason=late") as response:
            assert response.status == 410, operation
    async with served.http.post(f"{base}/raiseEvent/Item", json=1) as response:
        assert response.status == 410

    assert await served.client.terminate(instance_id, "late") is None
    assert await served.client.suspend(instance_id, "late") is None
    assert await served.client.resume(instance_id, "late") is None
    with pytest.raises(InstanceStateError, match="Completed"):
        await served.client.raise_event(instance_id, "Item", 1)
    with pytest.raises(InstanceStateError, match="Completed"):
        await served.client.rewind(instance_id, "late")
    status = await served.status_of(instance_id)
    assert (status["runtimeStatus"], status["output"]) == ("Completed", "done")


async def test_restart_starts_the_instance_again(served: Served) -> None:
    instance_id = unique("restart") + "1"
    await served.client.start_new("echo_orchestrator", instance_id, "again")
    await served.reaches(instance_id, "Completed")

    async with served.http.post(f"{API}/instances/{instance_id}/restart") as response:
        assert response.status == 202
        copy_id = (await response.json())["id"]
        assert response.headers["Location"].split("?")[0].endswith(f"/instances/{copy_id}")
    assert copy_id != instance_id
    assert (await served.reaches(copy_id, "Completed"))["output"] == "again"

    waiting = unique("restart-waiting") + "1"
    await served.client.start_new("collect", waiting, 1)
    await served.reaches(waiting, "Running")
    async with served.http.post(f"{API}/instances/{waiting}/restart?restartWithNewInstanceId=false") as response:
        assert response.status == 409
    async with served.http.post(f"{API}/instances/{unique('nobody')}/restart") as response:
        assert response.status == 400


async def test_purge_deletes_an_ended_instance_only(served: Served) -> None:
    done, waiting = unique("purge") + "done", unique("purge") + "waiting"
    await served.client.start_new("echo_orchestrator", done, 1)
    await served.client.start_new("collect", waiting, 1)
    await served.reaches(done, "Completed")
    await served.reaches(waiting, "Running")

    async with served.http.delete(f"{API}/instances/{waiting}") as response:
        assert response.status == 412
        assert "Running" in (await response.json())["Message"]
    async with served.http.delete(f"{API}/instances/{done}") as response:
        assert response.status == 200
        assert await response.json() == {"instancesDeleted": 1}
    async with served.http.delete(f"{API}/instances/{done}") as response:
        assert response.status == 404
    assert not await served.client.get_status(done)


async def test_entities_are_signalled_read_listed_and_deleted(served: Served) -> None:
    key = unique("entity").rstrip("-")
    url = f"{API}/entities/counter/{key}"
    async with served.http.get(url) as response:
        assert response.status == 404
    async with served.http.post(f"{url}?op=add", json=5) as response:
        assert response.status == 202
    async with served.http.post(f"{url}?op=add", data="2", headers={"Content-Type": "application/json"}) as response:
        assert response.status == 202

    async def seven() -> bool:
        async with served.http.get(url) as response:
            return response.status == 200 and await response.json() == 7

    await wait_until(seven, timeout=20, what="the counter to be 7")
    async with served.http.get(f"{API}/entities/counter", params={"fetchState": "true"}) as response:
        assert response.status == 200
        listed = {e["entityId"]["key"]: e["state"] for e in await response.json()}
    assert listed[key] == 7
    async with served.http.post(url) as response:  # no ?op=: the host would send "", which no entity knows
        assert response.status == 400

    async with served.http.delete(url) as response:
        assert response.status == 202

    async def deleted() -> bool:
        async with served.http.get(url) as response:
            return response.status == 404

    await wait_until(deleted, timeout=20, what="the counter to be deleted")


async def test_an_orchestration_id_in_the_entity_space_is_refused_and_a_stray_row_spoils_no_entity_list(
    served: Served,
) -> None:
    for instance_id in ("@x@", "@counter@victim", "@@"):
        async with served.http.post(f"{API}/orchestrators/collect/{quote(instance_id)}", json=1) as response:
            assert response.status == 400, instance_id
            assert "must not start with '@'" in (await response.json())["Message"]
        assert not await served.client.get_status(instance_id)
    key = unique("listed").rstrip("-")
    await served.client.signal_entity(EntityId("counter", key), "add", 1)
    hub = served.client.task_hub
    await write_row(hub, "@@", OrchestrationRuntimeStatus.Running, input='{"a": 1}')

    async def listed() -> bool:
        async with served.http.get(f"{API}/entities/counter") as response:
            assert response.status == 200, await response.text()
            return key in {e["entityId"]["key"] for e in await response.json()}

    await wait_until(listed, timeout=20, what="the counter to be listed")
    await served.client.purge_instance_history("@@")
