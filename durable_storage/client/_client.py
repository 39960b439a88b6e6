"""DurableOrchestrationClient: start, query, signal and purge orchestration instances of a task hub.

The azure-functions-durable client API (python-api.md §1.7), served straight from Azure Storage instead of the
Functions host's HTTP endpoint, with the provider's semantics (storage-layout.md §9). Every operation checks its
arguments first, so bad input never leaves half a write (reliability.md §4.4), then makes sure the task hub
exists (once per client, as the provider's ``EnsureTaskHubAsync``), then builds messages and sends them or reads
and writes rows. Messages go to the instance's control queue; the worker applies them.
"""

from __future__ import annotations

from durable_storage._clock import Clock, utcnow
from durable_storage._closing import AsyncClosing
from durable_storage._connection import (
    DEFAULT_CONNECTION_SETTING,
    StorageConnection,
    from_service_url,
    parse_connection_string,
)
from durable_storage._connection_settings import from_environment
from durable_storage._storage.credentials import StorageCredential
from durable_storage._storage.faults import FaultPlan
from durable_storage.client._entities import EntityOperations
from durable_storage.client._http_management import HttpManagement
from durable_storage.client._instance_operations import InstanceOperations
from durable_storage.client._management import DEFAULT_MANAGEMENT_BASE_URL, check_base_url
from durable_storage.client._purge import PurgeOperations
from durable_storage.client._quarantine import QuarantineOperations
from durable_storage.client._status_queries import StatusQueries
from durable_storage.retry import StorageRetryPolicy
from durable_storage.taskhub import DEFAULT_TASK_HUB, TaskHub

__all__ = ["DurableOrchestrationClient"]


class DurableOrchestrationClient(
    InstanceOperations,
    HttpManagement,
    StatusQueries,
    PurgeOperations,
    EntityOperations,
    QuarantineOperations,
    AsyncClosing,
):
    """The client of one task hub: the azure-functions-durable ``DurableOrchestrationClient`` API, async.

    An async context manager; :meth:`close` is idempotent. ``repr`` shows the account and hub, never a secret.

    Instance IDs starting with ``@`` are entities' (``@name@key``): the orchestration operations (start, restart,
    raise_event, terminate, suspend, resume, rewind) refuse them with ``InvalidNameError``; status and purge
    accept them.

    Args:
        account_url: any service URL of the storage account (``https://ACCOUNT.queue.core.windows.net``); the
            other two services' URLs are derived from it.
        credential: an Azure credential for that account: an ``azure.identity.aio`` credential (for example
            ``DefaultAzureCredential()``), an ``AzureNamedKeyCredential`` or an ``AzureSasCredential``. It stays
            the caller's: closing the client does not close it.
        task_hub: the task hub name, 3-45 letters or digits (default ``TestHubName``, as Durable Functions).
        partition_count: the hub's control queues, 1-16, fixed when the hub is created. None (the default): the
            hub's recorded count, or 4 for a hub this client creates; a count given must match an existing hub's.
        retry: the retry policy of storage calls.
        management_base_url: where ``durable-storage serve`` answers the Durable Functions HTTP API; the URLs of
            :meth:`create_http_management_payload` start with it.
        clock, faults: the hub's test seams (``TaskHub``'s): the wall clock every time of this client comes from,
            and storage faults to inject (:mod:`durable_storage.testing.faults`).

    Raises:
        ConfigurationError: an invalid URL, credential, hub name or partition count; nothing was contacted.
    """

    def __init__(
        self,
        account_url: str,
        credential: StorageCredential | None,
        *,
        task_hub: str = DEFAULT_TASK_HUB,
        partition_count: int | None = None,
        retry: StorageRetryPolicy | None = None,
        management_base_url: str = DEFAULT_MANAGEMENT_BASE_URL,
        clock: Clock = utcnow,
        faults: FaultPlan | None = None,
        _connection: StorageConnection | None = None,
        _connection_name: str | None = None,
    ) -> None:
        # _connection: from_connection_string's and from_env's connection, which authenticates itself (so the
        # credential is None) and may name endpoints no account URL derives; _connection_name: from_env's setting.
        base_url = check_base_url(management_base_url)
        hub = TaskHub(
            _connection or from_service_url(account_url),
            credential=credential,
            task_hub=task_hub,
            partition_count=partition_count,
            retry=retry,
            clock=clock,
            faults=faults,
        )
        super().__init__(hub, base_url, _connection_name)

    @classmethod
    def from_connection_string(
        cls,
        conn_str: str,
        *,
        task_hub: str = DEFAULT_TASK_HUB,
        partition_count: int | None = None,
        retry: StorageRetryPolicy | None = None,
        management_base_url: str = DEFAULT_MANAGEMENT_BASE_URL,
        clock: Clock = utcnow,
        faults: FaultPlan | None = None,
    ) -> DurableOrchestrationClient:
        """A client of the account of an Azure Storage connection string (``UseDevelopmentStorage=true`` works)."""
        connection = parse_connection_string(conn_str)
        return cls(
            connection.queue_endpoint,
            None,
            task_hub=task_hub,
            partition_count=partition_count,
            retry=retry,
            management_base_url=management_base_url,
            clock=clock,
            faults=faults,
            _connection=connection,
        )

    @classmethod
    def from_env(
        cls,
        name: str = DEFAULT_CONNECTION_SETTING,
        *,
        task_hub: str = DEFAULT_TASK_HUB,
        partition_count: int | None = None,
        retry: StorageRetryPolicy | None = None,
        management_base_url: str = DEFAULT_MANAGEMENT_BASE_URL,
        clock: Clock = utcnow,
        faults: FaultPlan | None = None,
    ) -> DurableOrchestrationClient:
        """A client of the account named by the environment, read as Durable Functions reads ``AzureWebJobsStorage``.

        ``name`` holds a connection string, or the identity-based settings ``{name}__accountName`` (or the three
        ``{name}__*ServiceUri``) with ``{name}__credential`` and ``{name}__clientId``.
        """
        connection = from_environment(name)
        return cls(
            connection.queue_endpoint,
            None,
            task_hub=task_hub,
            partition_count=partition_count,
            retry=retry,
            management_base_url=management_base_url,
            clock=clock,
            faults=faults,
            _connection=connection,
            _connection_name=name,
        )

    @property
    def task_hub(self) -> TaskHub:
        """The storage resources of the hub; a ``Worker`` built on this client uses them."""
        return self._hub

    async def close(self) -> None:
        """Close the storage clients. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        await self._hub.close()

    def __repr__(self) -> str:
        return f"DurableOrchestrationClient({self._hub!r})"
