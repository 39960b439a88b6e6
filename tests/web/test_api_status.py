"""The management API's start, status and query endpoints: status codes, headers and JSON as the Functions host's.

Every request goes over HTTP to a real ``ManagementServer`` on a hub that a real worker serves on Azurite.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.web.support import API, MANAGEMENT_URL_MEMBERS, STATUS_MEMBERS, Served, unique


async def test_start_answers_202_with_location_and_the_management_urls(served: Served) -> None:
    instance_id = unique("start") + "1"

    async with served.http.post(f"{API}/orchestrators/echo_orchestrator/{instance_id}", json={"sku": 7}) as response:
        assert response.status == 202
        body = await response.json()
        assert list(body) == MANAGEMENT_URL_MEMBERS
        assert body["id"] == instance_id
        assert response.headers["Location"] == body["statusQueryGetUri"]
        assert response.headers["Retry-After"] == "10"
    assert body["statusQueryGetUri"].startswith(f"{served.server.url}{API}/instances/{instance_id}?taskHub=")
    assert body["sendEventPostUri"].split("?")[0].endswith(f"/instances/{instance_id}/raiseEvent/{{eventName}}")
    assert "reason={text}" in body["terminatePostUri"]

    status = await served.reaches(instance_id, "Completed")
    assert set(status) == set(STATUS_MEMBERS)
    assert (status["name"], status["input"], status["output"]) == ("echo_orchestrator", {"sku": 7}, {"sku": 7})
    assert status["createdTime"].endswith("Z") and len(status["createdTime"]) == len("2024-05-01T12:00:00Z")


async def test_start_without_an_id_or_a_body_makes_an_id_and_starts_with_no_input(served: Served) -> None:
    async with served.http.post(f"{API}/orchestrators/echo_orchestrator") as response:
        assert response.status == 202
        instance_id = (await response.json())["id"]
    assert len(instance_id) == 32
    status = await served.reaches(instance_id, "Completed")
    assert (status["input"], status["output"]) == (None, None)


async def test_start_refuses_bad_json_and_an_id_in_use(served: Served) -> None:
    instance_id = unique("conflict") + "1"
    async with served.http.post(f"{API}/orchestrators/collect/{instance_id}", data=b"{not json") as response:
        assert response.status == 400
        assert "Invalid JSON" in (await response.json())["Message"]
    async with served.http.post(f"{API}/orchestrators/collect/{instance_id}", json=1) as response:
        assert response.status == 202
    await served.reaches(instance_id, "Running")

    async with served.http.post(f"{API}/orchestrators/collect/{instance_id}", json=1) as response:
        assert response.status == 409
        assert instance_id in (await response.json())["Message"]


async def test_status_is_202_while_running_200_when_done_and_404_when_unknown(served: Served) -> None:
    running, failed = unique("running") + "1", unique("failed") + "1"
    await served.client.start_new("collect", running, 1)
    await served.client.start_new("unhandled", failed)
    await served.reaches(running, "Running")
    await served.reaches(failed, "Failed")

    async with served.http.get(f"{API}/instances/{running}") as response:
        assert response.status == 202
        assert response.headers["Location"] == f"{served.server.url}{API}/instances/{running}"
        assert response.headers["Retry-After"] == "5"
    async with served.http.get(f"{API}/instances/{failed}") as response:
        assert response.status == 200
        assert (await response.json())["output"] == "KeyError: 'the order has no customer'"
    async with served.http.get(f"{API}/instances/{failed}?returnInternalServerErrorOnFailure=true") as response:
        assert response.status == 500
        assert (await response.json())["runtimeStatus"] == "Failed"
    async with served.http.get(f"{API}/instances/{unique('nobody')}") as response:
        assert response.status == 404
        assert "found" in (await response.json())["Message"]


async def test_status_shows_history_and_input_as_asked(served: Served) -> None:
    instance_id = unique("history") + "1"
    await served.client.start_new("echo_orchestrator", instance_id, "payload")
    await served.reaches(instance_id, "Completed")

    async with served.http.get(f"{API}/instances/{instance_id}?showHistory=true&showInput=false") as response:
        plain = await response.json()
    async with served.http.get(f"{API}/instances/{instance_id}?showHistory=true&showHistoryOutput=true") as response:
        full = await response.json()
    async with served.http.get(f"{API}/instances/{instance_id}?showHistory=maybe") as response:
        assert response.status == 400
        assert "showHistory" in (await response.json())["Message"]

    assert plain["input"] is None and "historyEvents" in plain
    assert [e["EventType"] for e in plain["historyEvents"]] == [
        "ExecutionStarted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert "Result" not in plain["historyEvents"][1]
    assert full["input"] == "payload"
    assert full["historyEvents"][1]["Result"] == "payload"
    assert full["historyEvents"][1]["FunctionName"] == "echo"


async def test_query_pages_with_the_continuation_header(served: Served) -> None:
    prefix = unique("paged")
    ids = {f"{prefix}{n}" for n in range(5)}
    for instance_id in ids:
        await served.client.start_new("echo_orchestrator", instance_id, instance_id)
    for instance_id in ids:
        await served.reaches(instance_id, "Completed")

    seen: list[str] = []
    headers: dict[str, str] = {}
    pages = 0
    while True:
        async with served.http.get(
            f"{API}/instances", params={"instanceIdPrefix": prefix, "top": "2"}, headers=headers
        ) as r:
            assert r.status == 200
            page = await r.json()
            token = r.headers.get("x-ms-continuation-token")
        pages += 1
        assert len(page) <= 2
        seen += [status["instanceId"] for status in page]
        if not token:
            break
        headers = {"x-ms-continuation-token": token}
    assert sorted(seen) == sorted(ids)
    assert pages >= 3
    assert all(status["input"] == status["instanceId"] for status in page)  # inputs by default, as the host


async def test_query_filters_by_status_and_created_time(served: Served) -> None:
    prefix = unique("filtered")
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    await served.client.start_new("collect", f"{prefix}waits", 1)
    await served.client.start_new("echo_orchestrator", f"{prefix}done", None)
    await served.reaches(f"{prefix}waits", "Running")
    await served.reaches(f"{prefix}done", "Completed")

    async def ids(**params: str) -> list[str]:
        async with served.http.get(f"{API}/instances", params={"instanceIdPrefix": prefix, **params}) as response:
            assert response.status == 200, await response.text()
            return sorted(status["instanceId"] for status in await response.json())

    assert await ids(runtimeStatus="Running") == [f"{prefix}waits"]
    assert await ids(runtimeStatus="Completed,Failed") == [f"{prefix}done"]
    assert await ids(createdTimeFrom=before.isoformat(), showInput="false") == [f"{prefix}done", f"{prefix}waits"]
    assert await ids(createdTimeFrom=(before + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) == []
    assert await ids(createdTimeTo=before.isoformat()) == []


async def test_query_refuses_values_it_cannot_read(served: Served) -> None:
    for params, named in [
        ({"runtimeStatus": "Sleeping"}, "runtimeStatus"),
        ({"top": "0"}, "top"),
        ({"createdTimeFrom": "yesterday"}, "createdTimeFrom"),
        ({"taskHub": "SomeOtherHub"}, "taskHub"),
    ]:
        async with served.http.get(f"{API}/instances", params=params) as response:
            assert response.status == 400, params
            assert named in (await response.json())["Message"]
    async with served.http.get(f"{API}/instances", headers={"x-ms-continuation-token": "not-ours"}) as response:
        assert response.status == 400
        assert "continuation_token" in (await response.json())["Message"]


async def test_start_can_wait_for_the_result(served: Served) -> None:
    instance_id = unique("waited") + "1"
    url = f"{API}/orchestrators/echo_orchestrator/{instance_id}?timeout=20&pollingInterval=0.1"
    async with served.http.post(url, json=[1, 2]) as response:
        assert response.status == 200
        assert await response.json() == [1, 2]
    url = f"{API}/orchestrators/collect/{unique('waits')}1?timeout=0.2&pollingInterval=0.1"
    async with served.http.post(url, json=1) as response:
        assert response.status == 202
        assert "Location" in response.headers


async def test_the_query_and_the_dashboard_list_show_an_instance_whose_blob_is_gone(served: Served) -> None:
    prefix = unique("lostblob")
    payload = "q" * 100_000  # its input and output live in blobs
    for suffix in ("lost", "kept"):
        await served.client.start_new("echo_orchestrator", f"{prefix}{suffix}", payload)
        await served.reaches(f"{prefix}{suffix}", "Completed")
    hub = served.client.task_hub
    container = hub.names.large_messages_container
    for name in await hub.account.blobs.list_names(container, prefix=hub.escape(f"{prefix}lost") + "/"):
        await hub.account.blobs.delete(container, name)  # lost by hand

    async with served.http.get(f"{API}/instances", params={"instanceIdPrefix": prefix}) as response:
        assert response.status == 200, await response.text()
        query = {status["instanceId"]: status for status in await response.json()}
    async with served.http.get("/api/instances", params={"instanceIdPrefix": prefix}) as response:
        assert response.status == 200, await response.text()
        listed = {status["instanceId"]: status for status in (await response.json())["instances"]}

    for found in (query, listed):
        assert found[f"{prefix}kept"]["output"].startswith("qqq")
        assert found[f"{prefix}lost"]["runtimeStatus"] == "Completed"
        assert found[f"{prefix}lost"]["output"].startswith("[output unavailable: blob ")
    # The query answers the whole output; the dashboard's list a preview of it (the instance's page has it all).
    assert query[f"{prefix}kept"]["output"] == payload
    assert len(listed[f"{prefix}kept"]["output"]) < 1000 and listed[f"{prefix}kept"]["outputTruncated"]
    assert query[f"{prefix}lost"]["input"].startswith("[input unavailable: blob ")
    status = await served.status_of(f"{prefix}lost")
    assert status["output"] == query[f"{prefix}lost"]["output"]
