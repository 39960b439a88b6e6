"""durable_storage: the Durable Task Azure Storage task hub provider for Python.

Orchestrations, activities and entities written against the ``azure-functions-durable`` API, dispatched and
checkpointed on Azure Storage with the .NET ``DurableTask.AzureStorage`` layout.

Every name is imported on first use (PEP 562): ``import durable_storage.x`` runs this module first, and the command
line's ``--help`` should not pay for the Azure SDK (0.6 s) to print its usage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from durable_storage._lazy import lazy_exports

if TYPE_CHECKING:
    from durable_storage._storage.quarantine_table import QuarantinedMessage
    from durable_storage._storage.retry import StorageRetryPolicy
    from durable_storage.app import App, Blueprint, DFApp, Entity, Orchestrator
    from durable_storage.client import DurableOrchestrationClient, EntityPage, EntityPager, InstancePage, InstancePager
    from durable_storage.entities import DurableEntity, DurableEntityContext
    from durable_storage.errors import (
        ConfigurationError,
        ConflictError,
        DurableStorageError,
        InstanceAlreadyExistsError,
        InstanceNotFoundError,
        InstanceStateError,
        InvalidNameError,
        MessageFormatError,
        NonDeterminismError,
        ReplayDeadlineError,
        ResourceNotFoundError,
        StorageAuthenticationError,
        StorageError,
        TaskFailedError,
        TaskHubMismatchError,
        TransientStorageError,
    )
    from durable_storage.models import (
        CleanEntityStorageResult,
        DurableHttpRequest,
        DurableHttpResponse,
        DurableOrchestrationStatus,
        EntityId,
        EntityMetadata,
        EntityStateResponse,
        ManagedIdentityTokenSource,
        OrchestrationRuntimeStatus,
        PurgeHistoryResult,
        RetryOptions,
        TokenSource,
    )
    from durable_storage.replay import DurableOrchestrationContext, ReplayOptions
    from durable_storage.taskhub import PartitionInfo, TaskHub, TaskHubInfo
    from durable_storage.worker import Worker, WorkerOptions

# module -> the public names it provides
_EXPORTS: dict[str, tuple[str, ...]] = {
    "durable_storage._storage.quarantine_table": ("QuarantinedMessage",),
    "durable_storage._storage.retry": ("StorageRetryPolicy",),
    "durable_storage.app": (
        "App",
        "Blueprint",
        "DFApp",
        "Entity",
        "Orchestrator",
    ),
    "durable_storage.client": (
        "DurableOrchestrationClient",
        "EntityPage",
        "EntityPager",
        "InstancePage",
        "InstancePager",
    ),
    "durable_storage.entities": (
        "DurableEntity",
        "DurableEntityContext",
    ),
    "durable_storage.errors": (
        "ConfigurationError",
        "ConflictError",
        "DurableStorageError",
        "InstanceAlreadyExistsError",
        "InstanceNotFoundError",
        "InstanceStateError",
        "InvalidNameError",
        "MessageFormatError",
        "NonDeterminismError",
        "ReplayDeadlineError",
        "ResourceNotFoundError",
        "StorageAuthenticationError",
        "StorageError",
        "TaskFailedError",
        "TaskHubMismatchError",
        "TransientStorageError",
    ),
    "durable_storage.models": (
        "CleanEntityStorageResult",
        "DurableHttpRequest",
        "DurableHttpResponse",
        "DurableOrchestrationStatus",
        "EntityId",
        "EntityMetadata",
        "EntityStateResponse",
        "ManagedIdentityTokenSource",
        "OrchestrationRuntimeStatus",
        "PurgeHistoryResult",
        "RetryOptions",
        "TokenSource",
    ),
    "durable_storage.replay": (
        "DurableOrchestrationContext",
        "ReplayOptions",
    ),
    "durable_storage.taskhub": (
        "PartitionInfo",
        "TaskHub",
        "TaskHubInfo",
    ),
    "durable_storage.worker": (
        "Worker",
        "WorkerOptions",
    ),
}
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "App",
    "Blueprint",
    "CleanEntityStorageResult",
    "ConfigurationError",
    "ConflictError",
    "DFApp",
    "DurableEntity",
    "DurableEntityContext",
    "DurableHttpRequest",
    "DurableHttpResponse",
    "DurableOrchestrationClient",
    "DurableOrchestrationContext",
    "DurableOrchestrationStatus",
    "DurableStorageError",
    "Entity",
    "EntityId",
    "EntityMetadata",
    "EntityPage",
    "EntityPager",
    "EntityStateResponse",
    "InstanceAlreadyExistsError",
    "InstanceNotFoundError",
    "InstancePage",
    "InstancePager",
    "InstanceStateError",
    "InvalidNameError",
    "ManagedIdentityTokenSource",
    "MessageFormatError",
    "NonDeterminismError",
    "OrchestrationRuntimeStatus",
    "Orchestrator",
    "PartitionInfo",
    "PurgeHistoryResult",
    "QuarantinedMessage",
    "ReplayDeadlineError",
    "ReplayOptions",
    "ResourceNotFoundError",
    "RetryOptions",
    "StorageAuthenticationError",
    "StorageError",
    "StorageRetryPolicy",
    "TaskFailedError",
    "TaskHub",
    "TaskHubInfo",
    "TaskHubMismatchError",
    "TokenSource",
    "TransientStorageError",
    "Worker",
    "WorkerOptions",
]
