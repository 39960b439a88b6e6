"""The client's management-URL helpers (azure-functions-durable's names and shapes), and that their URLs work
against ``durable-storage serve``; plus purge by filter, which needs a hub of its own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import azure.functions as func
import pytest

from durable_storage import ConfigurationError, DurableOrchestrationClient, TaskHub
from durable_storage.retry import FAST_RETRY
from tests.web.support import API, MANAGEMENT_URL_MEMBERS, Served, serving


def offline_client(base: str | None = None) -> DurableOrchestrationClient:
    """A client that is never used for I/O (building the URLs needs none); ``base``: its management_base_url."""
    if base is None:
        return DurableOrchestrationClient.from_connection_string("UseDevelopmentStorage=true", task_hub="Orders")
    return DurableOrchestrationClient.from_connection_string(
        "UseDevelopmentStorage=true", task_hub="Orders", management_base_url=base
    )


def test_the_payload_points_at_the_local_server_by_default() -> None:
    payload = offline_client().create_http_management_payload("order-1")

    assert list(payload) == MANAGEMENT_URL_MEMBERS
    instance = "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/order-1"
    assert payload == {
        "id": "order-1",
        "statusQueryGetUri": f"{instance}?taskHub=Orders",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?taskHub=Orders",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&taskHub=Orders",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&taskHub=Orders",
        "purgeHistoryDeleteUri": f"{instance}?taskHub=Orders",
        "restartPostUri": f"{instance}/restart?taskHub=Orders",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&taskHub=Orders",
        "resumePostUri": f"{instance}/resume?reason={{text}}&taskHub=Orders",
    }


def test_the_urls_point_at_the_base_url_not_at_the_callers_origin() -> None:
    client = offline_client(base="https://durable.example:8443/")
    assert client.management_base_url == "https://durable.example:8443"
    assert client.create_http_management_payload("a/b c")["statusQueryGetUri"] == (
        "https://durable.example:8443/runtime/webhooks/durabletask/instances/a%2Fb%20c?taskHub=Orders"
    )
    # Unlike azure-functions-durable: the origin of the request (a web app of the user's) need not serve the
    # webhooks, so the URLs stay on management_base_url (durable-storage host/serve set it to their own address).
    request = SimpleNamespace(url="http://10.0.0.5:9000/api/start?x=1")
    links = client.get_client_response_links(request, "o-1")
    assert links["terminatePostUri"].startswith(
        "https://durable.example:8443/runtime/webhooks/durabletask/instances/o-1/"
    )


def test_check_status_response_is_a_202_with_location_and_the_payload() -> None:
    response = offline_client().create_check_status_response("http://localhost:7072/api/orders", "order-2")

    assert isinstance(response, func.HttpResponse)  # returnable from an HTTP trigger as it is
    assert response.status_code == 202
    assert response.mimetype == "application/json"
    body = json.loads(response.get_body())
    assert list(body) == MANAGEMENT_URL_MEMBERS and body["id"] == "order-2"
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert response.headers["Location"].startswith("http://127.0.0.1:7071/runtime/webhooks/durabletask/")
    assert response.headers["Retry-After"] == "10"


@pytest.mark.parametrize("bad", ["127.0.0.1:7071", "ftp://host", "http://", "http://host/?code=1", 7071])
def test_an_invalid_base_url_is_refused_before_anything_is_built(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="management_base_url"):
        offline_client(base=bad)  # type: ignore[arg-type]


@pytest.fixture
async def served_fresh(client: DurableOrchestrationClient) -> AsyncIterator[Served]:
    """A server and worker on this test's own hub."""
    async with serving(client) as running:
        yield running


async def test_every_payload_url_works_against_the_server(
    connection_string: str, hub: TaskHub, served_fresh: Served
) -> None:
    async with DurableOrchestrationClient.from_connection_string(
        connection_string, task_hub=hub.name, retry=FAST_RETRY, management_base_url=served_fresh.server.url
    ) as client:
        http, reaches = served_fresh.http, served_fresh.reaches
        waiting = await client.start_new("collect", "urls-1", 2)
        urls = client.create_http_management_payload(waiting)

        async with http.get(urls["statusQueryGetUri"]) as response:
            assert response.status in (200, 202)
            assert (await response.json())["instanceId"] == waiting
        await reaches(waiting, "Running")
        async with http.post(urls["suspendPostUri"].replace("{text}", "hold")) as response:
            assert response.status == 202
        await reaches(waiting, "Suspended")
        async with http.post(urls["resumePostUri"].replace("{text}", "go")) as response:
            assert response.status == 202
        await reaches(waiting, "Running")
        async with http.post(urls["sendEventPostUri"].replace("{eventName}", "Item"), json="first") as response:
            assert response.status == 202
        async with http.post(urls["terminatePostUri"].replace("{text}", "enough")) as response:
            assert response.status == 202
        assert (await reaches(waiting, "Terminated"))["output"] == "enough"
        async with http.post(urls["restartPostUri"]) as response:
            assert response.status == 202
            restarted = (await response.json())["id"]
        async with http.delete(urls["purgeHistoryDeleteUri"]) as response:
            assert response.status == 200
        assert not await client.get_status(waiting)

        failing = await client.start_new("flaky_then_done", None, {"key": "urls-flaky", "failures": 1})
        await reaches(failing, "Failed")
        async with http.post(
            client.create_http_management_payload(failing)["rewindPostUri"].replace("{text}", "x")
        ) as r:
            assert r.status == 202
        await reaches(failing, "Completed")
        await reaches(restarted, "Running")


async def test_purge_by_filter_deletes_ended_instances_of_the_range(served_fresh: Served) -> None:
    client, http = served_fresh.client, served_fresh.http
    since = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for n in range(2):
        await client.start_new("echo_orchestrator", f"done-{n}", n)
    await client.start_new("unhandled", "failed-0")
    await client.start_new("collect", "waiting-0", 1)
    for instance_id, status in [("done-0", "Completed"), ("done-1", "Completed"), ("failed-0", "Failed")]:
        await served_fresh.reaches(instance_id, status)
    await served_fresh.reaches("waiting-0", "Running")

    async with http.delete(f"{API}/instances") as response:
        assert response.status == 400
        assert "createdTimeFrom" in (await response.json())["Message"]
    async with http.delete(f"{API}/instances", params={"createdTimeFrom": since, "runtimeStatus": "Failed"}) as r:
        assert r.status == 200
        assert await r.json() == {"instancesDeleted": 1}
    async with http.delete(f"{API}/instances", params={"createdTimeFrom": since}) as response:
        assert response.status == 200
        assert await response.json() == {"instancesDeleted": 2}  # the ended ones; never the one still running
    async with http.delete(f"{API}/instances", params={"createdTimeFrom": since}) as response:
        assert response.status == 404
    assert [s.instance_id for s in await client.get_status_all()] == ["waiting-0"]
