"""A v1 app (``function.json`` folders, the legacy ``orchestrationClient`` binding, ``Orchestrator.create`` and
``Entity.create`` handles, ``from ..shared_code`` imports, a named ``Out`` response) run by ``durable-storage host``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from durable_storage.testing import wait_until
from tests.host.support import APPS, RunningHost, running_host


@pytest.fixture(scope="module")
async def greeter(connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHost]:
    async with running_host(APPS / "v1_greeter", connection_string, tmp_path_factory.mktemp("v1")) as host:
        yield host


async def test_an_orchestration_started_through_the_http_start_folder_completes(greeter: RunningHost) -> None:
    # host.json's routePrefix is "v1".
    code, payload, response = await greeter.request("POST", "/v1/orchestrators/Greet", json=["Lisbon", "Oslo"])

    assert code == 202, (payload, greeter.output[-3000:])
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    status = await greeter.finished(payload["statusQueryGetUri"])
    assert (status["runtimeStatus"], status["output"]) == ("Completed", ["Hello Lisbon!", "Hello Oslo!"])
    assert (await greeter.request("POST", "/api/orchestrators/Greet"))[0] == 404  # not under the default prefix


async def test_an_entity_is_signalled_and_read_over_http_through_the_sdk_client(greeter: RunningHost) -> None:
    code, body, _ = await greeter.request("GET", "/v1/counter/c1")
    assert (code, body) == (404, "no such counter")
    for amount in (2, 5):
        assert (await greeter.request("POST", "/v1/counter/c1", json={"amount": amount}))[0] == 202

    async def seven() -> Any:
        code, body, _ = await greeter.request("GET", "/v1/counter/c1")
        return body if code == 200 and body["value"] == 7 else None

    assert await wait_until(seven, timeout=20, what="the counter to reach 7") == {"value": 7}
