"""The management API with values a table cannot hold (issue 17 items 2, 6, 10): 400 or an answer, never a 500.

A body nested 10,000 deep is a 400 naming the depth; times before 1601 or past 9999 in a query match the rows they
name (no stored time lies outside that range); a lone surrogate in a stored input reads back; a prefix ending in
U+D7FF or U+10FFFF lists what it names.
"""

from __future__ import annotations

from typing import Any

from tests.web.support import API, Served, unique

DEEP = "[" * 10_000 + "]" * 10_000


async def ids(served: Served, **params: str) -> list[str]:
    async with served.http.get(f"{API}/instances", params=params) as response:
        assert response.status == 200, await response.text()
        found: list[dict[str, Any]] = await response.json()
    return sorted(status["instanceId"] for status in found)


async def test_a_body_nested_10000_deep_is_a_400_naming_the_depth(served: Served) -> None:
    instance_id = unique("deep") + "1"
    headers = {"Content-Type": "application/json"}

    async with served.http.post(f"{API}/orchestrators/collect/{instance_id}", data=DEEP, headers=headers) as response:
        assert response.status == 400
        assert "nested over" in (await response.json())["Message"]
    assert not await served.client.get_status(instance_id)
    waiting = await served.client.start_new("collect", unique("waits") + "1", 1)
    async with served.http.post(f"{API}/instances/{waiting}/raiseEvent/go", data=DEEP, headers=headers) as response:
        assert response.status == 400


async def test_created_time_bounds_outside_the_table_range_match_the_rows_they_name(served: Served) -> None:
    prefix = unique("ancient")
    await served.client.start_new("echo_orchestrator", f"{prefix}1", None)
    await served.reaches(f"{prefix}1", "Completed")

    assert await ids(served, instanceIdPrefix=prefix, createdTimeFrom="0999-01-01T00:00:00Z") == [f"{prefix}1"]
    assert await ids(served, instanceIdPrefix=prefix, createdTimeFrom="0001-01-01T00:00:00+05:00") == [f"{prefix}1"]
    assert await ids(served, instanceIdPrefix=prefix, createdTimeTo="9999-12-31T23:00:00-05:00") == [f"{prefix}1"]
    assert await ids(served, instanceIdPrefix=prefix, createdTimeTo="0999-01-01T00:00:00Z") == []


async def test_a_lone_surrogate_in_a_start_body_is_stored_and_read_back(served: Served) -> None:
    instance_id = unique("surrogate") + "1"
    headers = {"Content-Type": "application/json"}

    url = f"{API}/orchestrators/echo_orchestrator/{instance_id}"
    async with served.http.post(url, data='"\\ud800"', headers=headers) as response:
        assert response.status == 202
    status = await served.reaches(instance_id, "Completed")

    assert status["input"] == status["output"] == "\ud800"
    assert await ids(served, instanceIdPrefix=instance_id) == [instance_id]


async def test_a_prefix_at_the_top_of_a_unicode_range_lists_what_it_names(served: Served) -> None:
    prefix = unique("top")
    names = [f"{prefix}\ud7ff", f"{prefix}\ud7ff-2", f"{prefix}\U0001f600", f"{prefix}\U0010ffff"]
    for instance_id in names:
        await served.client.start_new("collect", instance_id, 1)

    assert await ids(served, instanceIdPrefix=f"{prefix}\ud7ff") == names[:2]
    assert await ids(served, instanceIdPrefix=f"{prefix}\U0010ffff") == names[3:]
