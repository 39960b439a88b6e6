"""A v2 app (func.FunctionApp + df.Blueprint, shared code, a custom class) run by ``durable-storage host``.

Every test drives the host process over HTTP, as a user would: start through the app's own route, poll the
``statusQueryGetUri`` it returned. The ``client/...`` routes run one operation of the published SDK's client each
(tests/host/apps/v2_shop/client_calls.py), which talks to our webhooks through the binding's ``rpcBaseUrl``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from durable_storage.testing import wait_until
from tests.host.support import APPS, RunningHost, running_host


@pytest.fixture(scope="module")
async def shop(connection_string: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningHost]:
    async with running_host(APPS / "v2_shop", connection_string, tmp_path_factory.mktemp("v2")) as host:
        yield host


async def _call(shop: RunningHost, operation: str, instance_id: str = "", **arguments: Any) -> Any:
    path = f"/api/client/{operation}/{instance_id}" if instance_id else f"/api/client/{operation}"
    code, body, _ = await shop.request("POST", path, json=arguments)
    assert code == 200, (code, body, shop.output[-3000:])
    return body


async def _status(shop: RunningHost, instance_id: str, wanted: str) -> dict[str, Any]:
    async def there() -> dict[str, Any] | None:
        status = await _call(shop, "get", instance_id)
        return status if status and status["runtime_status"] == wanted else None

    result: dict[str, Any] = await wait_until(there, timeout=20, what=f"{instance_id} to be {wanted}")
    return result


async def test_an_orchestration_started_through_the_apps_route_completes_with_custom_classes(shop: RunningHost) -> None:
    code, payload, response = await shop.request(
        "POST", "/api/orchestrators/price_order", json={"items": ["tea", "coffee"]}
    )

    assert code == 202, payload
    assert payload["statusQueryGetUri"].startswith(f"{shop.url}/runtime/webhooks/durabletask/instances/")
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    status = await shop.finished(payload["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Completed", shop.output[-3000:]
    # 900 cents from two activities returning Money; "welcome" from local.settings.json's Values.
    assert status["output"] == {"total": {"cents": 900, "currency": "EUR"}, "greeting": "welcome"}
    assert status["input"] == {"items": ["tea", "coffee"]}  # not the SDK's double-encoded string


async def test_starting_a_function_that_is_no_orchestrator_fails_as_under_the_functions_host(shop: RunningHost) -> None:
    code, _, _ = await shop.request("POST", "/api/orchestrators/price_of")  # an activity

    # The SDK's start_new raises the extension's 400 message, so the app's starter fails with a 500.
    assert code == 500
    assert "The function 'price_of' doesn't exist, is disabled, or is not an orchestrator function." in shop.output


async def test_http_triggers_get_real_requests_and_their_responses_are_served(shop: RunningHost) -> None:
    assert (await shop.request("GET", "/api/hello"))[:2] == (200, "Hello, world!")
    code, body, response = await shop.request("GET", "/api/hello/Ada")
    assert (code, body, response.headers["X-Shop"]) == (200, "Hello, Ada!", "v2")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert (await shop.request("GET", "/api/HELLO?name=Bob"))[:2] == (200, "Hello, Bob!")
    assert (await shop.request("POST", "/api/hello"))[0] == 405

    code, body, response = await shop.request("PUT", "/api/items/42?tag=a&tag=b&empty=", json={"n": 1})
    assert (code, response.headers["Content-Type"]) == (201, "application/json")
    assert body == {"id": "42", "method": "PUT", "tags": "a,b", "body": {"n": 1}}
    assert (await shop.request("GET", "/api/items/forty-two"))[0] == 404  # {id:int}

    assert (await shop.request("GET", "/api/files/a/b/c.txt"))[:2] == (200, "path=a/b/c.txt function=files")
    assert (await shop.request("GET", "/api/nothing"))[0] == 204
    assert (await shop.request("GET", "/api/boom"))[0] == 500
    assert "ValueError: boom" in shop.output
    assert (await shop.request("GET", "/api/no-such-route"))[0] == 404


async def test_the_published_client_starts_queries_and_raises_events(shop: RunningHost) -> None:
    assert await _call(shop, "get", "no-such-instance") is None
    instance_id = await _call(shop, "start", "approval-1", name="wait_for_approval")
    assert instance_id == "approval-1"
    status = await _status(shop, instance_id, "Running")
    assert status["custom_status"] == "waiting"
    assert instance_id in await _call(shop, "by", name="wait_for_approval", statuses=["Running"])
    assert instance_id in await _call(shop, "all", name="wait_for_approval")

    assert await _call(shop, "raise", instance_id, event="approval", data={"by": "ada"}) == "raised"
    status = await _status(shop, instance_id, "Completed")
    assert status["output"] == {"approved": {"by": "ada"}}  # the value raised, not its JSON text


async def test_the_published_client_suspends_resumes_terminates_and_purges(shop: RunningHost) -> None:
    instance_id = await _call(shop, "start", "approval-2", name="wait_for_approval")
    await _status(shop, instance_id, "Running")
    assert await _call(shop, "suspend", instance_id) == "suspend"
    await _status(shop, instance_id, "Suspended")
    assert await _call(shop, "resume", instance_id) == "resume"
    await _status(shop, instance_id, "Running")
    assert await _call(shop, "terminate", instance_id, reason="no longer needed") == "terminate"
    status = await _status(shop, instance_id, "Terminated")
    assert status["output"] == "no longer needed"

    assert await _call(shop, "purge", instance_id) == 1
    assert await _call(shop, "get", instance_id) is None
    assert await _call(shop, "purge", instance_id) == 0  # 404 is 0 to the SDK

    other = await _call(shop, "start", "approval-3", name="wait_for_approval")
    await _status(shop, other, "Running")
    await _call(shop, "terminate", other)
    await _status(shop, other, "Terminated")
    assert await _call(shop, "purge_by", statuses=["Terminated"]) >= 1
    assert await _call(shop, "get", other) is None


async def test_the_published_client_rewinds_a_failed_instance_and_restarts_one(shop: RunningHost) -> None:
    instance_id = await _call(shop, "start", "flaky-1", name="flaky_order", input="flaky-1")
    await _status(shop, instance_id, "Failed")
    assert await _call(shop, "rewind", instance_id) == "rewind"
    status = await _status(shop, instance_id, "Completed")
    assert status["output"] == "flaky-1 done after 2 attempts"

    restarted = await _call(shop, "restart", instance_id, new_id=True)
    # The extension answers restart with the check-status payload (functions-host.md §9.6); so do we.
    assert restarted["id"] != instance_id
    status = await _status(shop, restarted["id"], "Completed")
    assert status["output"] == "flaky-1 done after 3 attempts"


async def test_the_published_client_signals_and_reads_an_entity(shop: RunningHost) -> None:
    assert await _call(shop, "read", entity="cart", key="ada") == {"exists": False, "state": None}
    for item in ("tea", "milk"):
        assert await _call(shop, "signal", entity="cart", key="ada", op="add", input=item) == "signalled"

    async def two_items() -> Any:
        state = await _call(shop, "read", entity="cart", key="ada")
        return state if state["state"] and len(state["state"]) == 2 else None

    assert (await wait_until(two_items, timeout=20, what="two items in the cart"))["state"] == ["tea", "milk"]


async def test_wait_for_completion_answers_with_the_output_or_the_check_status_response(shop: RunningHost) -> None:
    assert await _call(shop, "wait", name="price_order", input={"items": ["ab"]}) == {
        "total": {"cents": 200, "currency": "EUR"},
        "greeting": "welcome",
    }
    code, body, response = await shop.request(
        "POST", "/api/client/wait", json={"name": "wait_for_approval", "timeout_ms": 500}
    )
    assert code == 202
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert body["statusQueryGetUri"].startswith(shop.url)
