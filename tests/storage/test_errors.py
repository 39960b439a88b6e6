"""Storage failures become durable_storage errors that name the resource and never carry a secret."""

from __future__ import annotations

import base64
import logging
import re

import pytest

from durable_storage.errors import ResourceNotFoundError, StorageAuthenticationError, StorageError
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub

WRONG_KEY = base64.b64encode(b"not the account key, but 64 bytes long so that it looks real!!!!").decode()


def with_wrong_key(connection_string: str) -> str:
    return re.sub(r"AccountKey=[^;]+", f"AccountKey={WRONG_KEY}", connection_string)


@pytest.mark.parametrize("operation", ["queue", "table", "blob"])
async def test_a_wrong_account_key_is_an_authentication_error_without_secrets(
    connection_string: str, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hub = TaskHub.from_connection_string(with_wrong_key(connection_string), task_hub="WrongKeyHub", retry=FAST_RETRY)
    async with hub:
        with pytest.raises(StorageAuthenticationError) as caught:
            if operation == "queue":
                await hub.account.queues.put(hub.names.work_item_queue, "x")
            elif operation == "table":
                await hub.account.tables.get(hub.names.instances_table, "p", "r")
            else:
                await hub.account.blobs.create_container(hub.names.large_messages_container)
        logging.getLogger("test").exception("storage call failed", exc_info=caught.value)

    error = caught.value
    assert error.status == 403
    assert error.resource and hub.names.hub.lower() in error.resource.lower()
    assert error.__cause__ is None and error.__suppress_context__
    visible = "\n".join([str(error), repr(error), caplog.text, repr(hub)])
    for secret in (WRONG_KEY, WRONG_KEY[:20], "string to sign", "SharedKey devstoreaccount1:"):
        assert secret.lower() not in visible.lower()


async def test_errors_carry_status_code_request_id_and_resource(hub: TaskHub) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        await hub.account.queues.count("no-such-queue")

    error = caught.value
    assert isinstance(error, StorageError)
    assert error.status == 404
    assert error.error_code == "QueueNotFound"
    assert error.request_id
    assert error.resource == "queue no-such-queue"
    assert "queue no-such-queue: 404 QueueNotFound" in str(error)


async def test_sdk_debug_logs_have_their_secrets_masked(hub: TaskHub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    header = "Authorization: SharedKey devstoreaccount1:c2VjcmV0c2lnbmF0dXJl"
    url = "https://acct.blob.core.windows.net/c/b?sv=2024&sig=c2VjcmV0c2ln"

    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").debug("Request headers: %s", header)
    logging.getLogger("azure.core.pipeline.policies._universal").debug("url %s", url)

    assert "c2VjcmV0c2lnbmF0dXJl" not in caplog.text and "c2VjcmV0c2ln" not in caplog.text
    assert "SharedKey devstoreaccount1:***" in caplog.text
