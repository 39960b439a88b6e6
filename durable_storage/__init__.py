"""durable_storage: the Durable Task Azure Storage task hub provider for Python.

Orchestrations, activities and entities written against the ``azure-functions-durable`` API, dispatched and
checkpointed on Azure Storage with the .NET ``DurableTask.AzureStorage`` layout.
"""

from durable_storage._storage.retry import StorageRetryPolicy
from durable_storage.app import App, Blueprint, DFApp, Entity, Orchestrator
from durable_storage.errors import (
    ConfigurationError,
    ConflictError,
    DurableStorageError,
    InvalidNameError,
    MessageFormatError,
    NonDeterminismError,
    ResourceNotFoundError,
    StorageAuthenticationError,
    StorageError,
    TaskFailedError,
    TaskHubMismatchError,
    TransientStorageError,
)
from durable_storage.models import EntityId, OrchestrationRuntimeStatus, RetryOptions
from durable_storage.replay import DurableOrchestrationContext, ReplayOptions
from durable_storage.taskhub import TaskHub, TaskHubInfo

__all__ = [
    "App",
    "Blueprint",
    "ConfigurationError",
    "ConflictError",
    "DFApp",
    "DurableOrchestrationContext",
    "DurableStorageError",
    "Entity",
    "EntityId",
    "InvalidNameError",
    "MessageFormatError",
    "NonDeterminismError",
    "OrchestrationRuntimeStatus",
    "Orchestrator",
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
    "TransientStorageError",
]
