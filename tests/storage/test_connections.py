"""Every supported way of connecting reaches a real Azurite; the secrets involved never show."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

from durable_storage._connection import DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME
from durable_storage.errors import ConfigurationError
from durable_storage.retry import FAST_RETRY
from durable_storage.taskhub import TaskHub
from durable_storage.testing import unique_hub_name


def endpoints(connection_string: str) -> str:
    return ";".join(re.findall(r"(?:Blob|Queue|Table)Endpoint=[^;]+", connection_string))


def account_sas() -> str:
    return generate_account_sas(
        DEV_ACCOUNT_NAME,
        DEV_ACCOUNT_KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(
            read=True, write=True, delete=True, list=True, add=True, create=True, update=True, process=True
        ),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
        services="bqt",  # Services() knows no tables; the SAS string form does
    )


@pytest.mark.parametrize("style", ["account key", "shared access signature"])
async def test_a_hub_works_end_to_end_over_each_kind_of_connection_string(connection_string: str, style: str) -> None:
    if style == "account key":
        conn = connection_string
    else:
        sas = account_sas()
        conn = f"SharedAccessSignature={sas};{endpoints(connection_string)}"

    async with TaskHub.from_connection_string(conn, task_hub=unique_hub_name(), retry=FAST_RETRY) as hub:
        await hub.create_if_not_exists()
        await hub.account.queues.put(hub.names.work_item_queue, "hello")
        await hub.account.blobs.upload_text(hub.names.large_messages_container, "x/y.json.gz", "{}")
        info = await hub.info()
        text = repr(hub)
        await hub.delete()

    assert info.exists and info.queues[hub.names.work_item_queue] == 1
    if style == "shared access signature":
        signature = re.search(r"sig=([^&]+)", sas)
        assert signature is not None and signature[1] not in text
    assert DEV_ACCOUNT_KEY not in text


async def test_the_test_azurite_with_only_its_queue_endpoint_is_refused_before_any_request(
    connection_string: str,
) -> None:
    # Before, the table and blob calls went to https://devstoreaccount1.{table,blob}.core.windows.net.
    queue_only = re.sub(r"(?:Blob|Table)Endpoint=[^;]+;?", "", connection_string)
    assert "QueueEndpoint=" in queue_only

    with pytest.raises(ConfigurationError) as caught:
        TaskHub.from_connection_string(queue_only, task_hub=unique_hub_name(), retry=FAST_RETRY)

    assert "has QueueEndpoint but no TableEndpoint or BlobEndpoint" in str(caught.value)
    assert DEV_ACCOUNT_KEY not in str(caught.value)


@pytest.mark.parametrize("name", ["../../x", "dev\x00store"])
async def test_an_account_name_azure_would_refuse_never_reaches_the_emulator(connection_string: str, name: str) -> None:
    hostile = connection_string.replace(f"AccountName={DEV_ACCOUNT_NAME}", f"AccountName={name}")
    assert hostile != connection_string

    with pytest.raises(ConfigurationError, match=r"AccountName .* is invalid: must be 3-24 lowercase letters"):
        TaskHub.from_connection_string(hostile, task_hub=unique_hub_name(), retry=FAST_RETRY)
