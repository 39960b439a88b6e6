"""``context.call_http`` end to end: the worker's built-in HTTP activity against a loopback server, on Azurite.

As the Durable Functions extension runs it for Python apps: any status is an answer (a 202 is returned as is, not
polled), a refused connection or a timeout fails the task with a message naming the request, and a
``ManagedIdentityTokenSource`` sends a bearer token from the worker's credential, which never reaches a log or
the history.
"""

from __future__ import annotations

import json
import logging
import socket

import pytest

from durable_storage import DurableOrchestrationClient, OrchestrationRuntimeStatus
from tests.e2e.conftest import FakeCredential
from tests.e2e.http_server import LocalServer
from tests.e2e.support import events, output_of_run

pytestmark = pytest.mark.usefixtures("sdk_worker")


async def test_a_get_returns_the_status_headers_and_content(
    client: DurableOrchestrationClient, http_server: LocalServer
) -> None:
    response = await output_of_run(client, "fetch", {"method": "GET", "uri": http_server.url("/echo?page=2")})

    assert response["statusCode"] == 200
    assert json.loads(response["content"])["method"] == "GET"
    assert response["headers"]["X-Multi"] == ["one", "two"]  # a repeated header is a list, as .NET writes it
    # The content headers stay out, as in Durable Functions (.NET's HttpResponseMessage.Headers).
    assert not {"Content-Type", "Content-Length"} & set(response["headers"])


async def test_a_post_sends_the_content_and_headers(
    client: DurableOrchestrationClient, http_server: LocalServer
) -> None:
    request = {
        "method": "POST",
        "uri": http_server.url("/echo"),
        "content": {"name": "Rex"},
        "headers": {"X-Trace": "abc", "Content-Type": "application/json"},
    }

    response = await output_of_run(client, "fetch", request)

    seen = json.loads(response["content"])
    assert seen["method"] == "POST"
    assert seen["body"] == '{"name": "Rex"}'  # json-encoded by call_http, as in azure-functions-durable
    assert seen["headers"]["X-Trace"] == "abc"
    assert seen["headers"]["Content-Type"] == "application/json"


async def test_a_202_with_a_location_is_returned_as_is_without_polling(
    client: DurableOrchestrationClient, http_server: LocalServer
) -> None:
    response = await output_of_run(client, "fetch", {"method": "GET", "uri": http_server.url("/accepted")})

    assert response["statusCode"] == 202
    assert response["headers"]["Location"] == http_server.url("/status")
    assert http_server.status_polls == 0


async def test_a_500_is_an_answer_not_a_failure(client: DurableOrchestrationClient, http_server: LocalServer) -> None:
    response = await output_of_run(client, "fetch", {"method": "GET", "uri": http_server.url("/error")})

    assert (response["statusCode"], response["content"]) == (500, "the server broke")


async def test_a_refused_connection_fails_the_task_naming_the_request(client: DurableOrchestrationClient) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    response = await output_of_run(
        client, "fetch", {"method": "GET", "uri": f"http://127.0.0.1:{port}/x?code=secret-key"}
    )

    message = response["failed"]
    assert "Activity function 'BuiltIn::HttpActivity' failed" in message
    assert f"GET http://127.0.0.1:{port}/x failed" in message
    assert "secret-key" not in message  # the query may hold a function key: never in an error


@pytest.mark.parametrize(("timeout", "shown"), [({"timeout": 0.5}, "0.5 s"), ({}, "2 s")])
async def test_a_server_that_never_answers_times_out_as_a_failed_task(
    client: DurableOrchestrationClient, http_server: LocalServer, timeout: dict[str, float], shown: str
) -> None:
    # The request's own timeout, or the worker's http_timeout (2 s in the sdk_worker fixture).
    response = await output_of_run(client, "fetch", {"method": "GET", "uri": http_server.url("/hang"), **timeout})

    assert f"GET {http_server.url('/hang')} timed out after {shown}" in response["failed"]


async def test_an_invalid_url_fails_the_task_with_what_is_allowed(client: DurableOrchestrationClient) -> None:
    response = await output_of_run(client, "fetch", {"method": "GET", "uri": "ftp://example.com/file"})

    assert "must be an absolute http or https URL" in response["failed"]


async def test_a_token_source_sends_a_bearer_token_that_reaches_no_log_and_no_history(
    client: DurableOrchestrationClient,
    http_server: LocalServer,
    credential: FakeCredential,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    request = {"uri": http_server.url("/echo"), "resource": "https://management.core.windows.net/"}

    instance_id = await client.start_new("FetchWithToken", client_input=request)  # azure.durable_functions' source
    status = await client.wait_for_completion(instance_id, timeout=30, poll_interval=0.1)

    assert status.runtime_status is OrchestrationRuntimeStatus.Completed, status
    assert http_server.received[-1]["headers"]["Authorization"] == f"Bearer {FakeCredential.TOKEN}"  # type: ignore[index]
    assert credential.scopes == ["https://management.core.windows.net/.default"]  # as the extension asks
    history = await client.get_history(instance_id)
    [scheduled] = events(history, "TaskScheduled")
    assert json.loads(scheduled["Input"])["tokenSource"] == {
        "resource": "https://management.core.windows.net/",
        "kind": "AzureManagedIdentity",
    }
    assert FakeCredential.TOKEN not in json.dumps(history)
    assert FakeCredential.TOKEN not in caplog.text
