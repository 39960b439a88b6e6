"""durable_storage: the Durable Task Azure Storage task hub provider for Python.

Orchestrations, activities and entities written against the ``azure-functions-durable`` API, dispatched and
checkpointed on Azure Storage with the .NET ``DurableTask.AzureStorage`` layout.
"""

from durable_storage._storage.retry import StorageRetryPolicy
from durable_storage.errors import (
    ConfigurationError,
    ConflictError,
    DurableStorageError,
    InvalidNameError,
    MessageFormatError,
    ResourceNotFoundError,
    StorageAuthenticationError,
    StorageError,
    TaskHubMismatchError,
    TransientStorageError,
)
from durable_storage.models import OrchestrationRuntimeStatus
from durable_storage.taskhub import TaskHub, TaskHubInfo

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "DurableStorageError",
    "InvalidNameError",
    "MessageFormatError",
    "OrchestrationRuntimeStatus",
    "ResourceNotFoundError",
    "StorageAuthenticationError",
    "StorageError",
    "StorageRetryPolicy",
    "TaskHub",
    "TaskHubInfo",
    "TaskHubMismatchError",
    "TransientStorageError",
]
