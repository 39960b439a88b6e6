"""Constructing a client: by account URL and credential, connection string or environment (api.md §2).

The account URL may be any service URL of the account; the other two are derived. A caller's credential is
checked (async, and never a token over http), used and left open: it stays the caller's. Nothing secret ever
shows in a repr.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AzureNamedKeyCredential, AzureSasCredential

from durable_storage import ConfigurationError, DurableOrchestrationClient, TaskHub
from durable_storage._connection import DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME, from_service_url, parse_connection_string
from durable_storage.retry import FAST_RETRY
from durable_storage.testing import unique_hub_name

KEY = "c2VjcmV0LWtleS1ub3QtcmVhbA=="


class AsyncToken:
    """An async token credential that counts how often it was closed."""

    def __init__(self) -> None:
        self.closed = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("token", 0)

    async def close(self) -> None:
        self.closed += 1


class SyncToken:
    """What azure.identity (not .aio) gives: a synchronous get_token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("token", 0)


@pytest.mark.parametrize(
    "url",
    [
        "https://acct.queue.core.windows.net",
        "https://acct.table.core.windows.net/",
        "https://acct.blob.core.windows.net/some-container/blob",
    ],
)
def test_any_service_url_gives_all_three_endpoints(url: str) -> None:
    connection = from_service_url(url)

    assert connection.account_name == "acct" and connection.auth == "supplied"
    assert "a credential supplied by the caller" in str(connection)
    assert connection.queue_endpoint == "https://acct.queue.core.windows.net"
    assert connection.table_endpoint == "https://acct.table.core.windows.net"
    assert connection.blob_endpoint == "https://acct.blob.core.windows.net"


def test_sovereign_cloud_and_emulator_urls_are_derived_too() -> None:
    china = from_service_url("https://acct.blob.core.chinacloudapi.cn")
    emulator = from_service_url("http://127.0.0.1:10001/devstoreaccount1")

    assert china.table_endpoint == "https://acct.table.core.chinacloudapi.cn"
    assert (emulator.account_name, emulator.blob_endpoint) == (
        "devstoreaccount1",
        "http://127.0.0.1:10000/devstoreaccount1",
    )
    assert emulator.table_endpoint == "http://127.0.0.1:10002/devstoreaccount1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://storage.example.com", r"'https://storage.example.com' is invalid: must be https://ACCOUNT"),
        ("http://127.0.0.1:4000/devstoreaccount1", r"emulator URL on port 10000-10002"),
        ("ftp://acct.queue.core.windows.net", r"must be an http or https URL"),
    ],
)
def test_an_account_url_that_names_no_account_is_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        from_service_url(url)


def test_a_url_with_a_sas_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError, match="must not carry a query string") as caught:
        from_service_url("https://acct.queue.core.windows.net/?sv=2024&sig=SECRETSIG")

    assert "SECRETSIG" not in str(caught.value)


async def test_a_client_by_url_and_key_credential_shows_no_secret_and_closes_twice() -> None:
    client = DurableOrchestrationClient(
        "https://acct.queue.core.windows.net", AzureNamedKeyCredential("acct", KEY), task_hub="Orders"
    )

    text = repr(client)
    assert KEY not in text and "acct" in text and "Orders" in text
    assert isinstance(client.task_hub, TaskHub) and client.task_hub.name == "Orders"
    assert client.task_hub.names.control_queues[0] == "orders-control-00"
    await client.close()
    await client.close()


async def test_a_callers_token_credential_is_used_but_never_closed() -> None:
    credential = AsyncToken()

    async with DurableOrchestrationClient("https://acct.blob.core.windows.net", credential) as client:
        assert client.task_hub.name == "TestHubName" and client.task_hub.partition_count == 4

    assert credential.closed == 0


@pytest.mark.parametrize(
    ("url", "credential", "message"),
    [
        ("https://acct.queue.core.windows.net", SyncToken(), r"SyncToken is invalid: its get_token is synchronous"),
        ("https://acct.queue.core.windows.net", "AccountKey=abc", r"credential of type str is invalid"),
        ("https://acct.queue.core.windows.net", None, r"needs a credential"),
        ("http://127.0.0.1:10001/devstoreaccount1", AsyncToken(), r"invalid for a token credential: must be https"),
    ],
)
def test_an_unusable_credential_is_refused_before_any_request(url: str, credential: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        DurableOrchestrationClient(url, credential)

    assert "abc" not in str(caught.value)


def test_a_key_or_sas_credential_may_go_over_http_to_the_emulator() -> None:
    for credential in (AzureNamedKeyCredential(DEV_ACCOUNT_NAME, DEV_ACCOUNT_KEY), AzureSasCredential("sv=1&sig=x")):
        client = DurableOrchestrationClient("http://127.0.0.1:10000/devstoreaccount1", credential)
        assert DEV_ACCOUNT_KEY not in repr(client)


async def test_a_supplied_credential_works_against_storage(connection_string: str) -> None:
    connection = replace(parse_connection_string(connection_string), auth="supplied", account_key=None)
    credential = AzureNamedKeyCredential(DEV_ACCOUNT_NAME, DEV_ACCOUNT_KEY)

    async with TaskHub(connection, credential=credential, task_hub=unique_hub_name(), retry=FAST_RETRY) as hub:
        try:
            await hub.create_if_not_exists()
            assert (await hub.info()).exists
        finally:
            await hub.delete()


async def test_from_env_reads_azure_web_jobs_storage(connection_string: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MyStorage", connection_string)
    name = unique_hub_name()

    async with DurableOrchestrationClient.from_env("MyStorage", task_hub=name, partition_count=2) as client:
        try:
            await client.start_new("hello", "from-env")
            assert (await client.get_status("from-env")).runtime_status is not None
            assert client.task_hub.partition_count == 2
            assert DEV_ACCOUNT_KEY not in repr(client)
        finally:
            await client.task_hub.delete()


class TaggedClient(DurableOrchestrationClient):
    """A subclass that sets its own state in ``__init__``, as a user's wrapper might."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tag = "mine"


async def test_the_factories_build_through_the_constructor_so_a_subclass_is_initialised(
    connection_string: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MyStorage", connection_string)

    for client in (
        TaggedClient.from_connection_string(connection_string, task_hub="Orders"),
        TaggedClient.from_env("MyStorage", task_hub="Orders"),
    ):
        async with client:
            assert isinstance(client, TaggedClient) and client.tag == "mine"
            assert client.task_hub.name == "Orders" and DEV_ACCOUNT_KEY not in repr(client)
