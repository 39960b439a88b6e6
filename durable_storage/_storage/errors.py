"""Translate azure-core exceptions into durable_storage.errors, once, at the storage boundary.

The SDK's messages may carry the server's "string to sign", a request signature or a SAS URL
(reliability.md §4.1), so the translated error is built only from status, error code, request id and the
resource name, and the SDK exception is not chained (``from None``): a logged traceback cannot leak it.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import aiohttp
from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError, ServiceResponseError

from durable_storage.errors import (
    ConflictError,
    ResourceNotFoundError,
    StorageAuthenticationError,
    StorageError,
    TransientStorageError,
)
from durable_storage.retry import OperationKind, StorageRetryPolicy

__all__ = ["StorageVerbs", "storage_errors", "translate"]

T = TypeVar("T")

# Error codes that mean "you lost a race", whatever status the service chose for them.
# (The queue SDK reports an existing queue as a 204 "error" with code QueueAlreadyExists.)
_CONFLICT_CODES = frozenset(
    {
        "PopReceiptMismatch",
        "LeaseIdMismatchWithLeaseOperation",
        "LeaseAlreadyPresent",
        "QueueAlreadyExists",
        "ContainerAlreadyExists",
        "TableAlreadyExists",
    }
)
# The server refused before doing anything: safe to resend even a conditional write.
_NOT_APPLIED_STATUSES = frozenset({429, 503})


def translate(error: BaseException, resource: str) -> StorageError:
    """The durable_storage error for an exception raised by an Azure SDK call on ``resource``."""
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        return _from_response(error, resource)
    if isinstance(error, ServiceRequestError):
        # The request never reached the service (DNS, refused connection): nothing was applied.
        return TransientStorageError(
            f"{resource}: could not reach the storage service ({type(error).__name__})",
            resource=resource,
            may_have_been_applied=False,
        )
    # A response was lost (reset, timeout, malformed reply): the request may or may not have been applied.
    return TransientStorageError(
        f"{resource}: no usable response from the storage service ({type(error).__name__})",
        resource=resource,
        may_have_been_applied=True,
    )


def _from_response(error: HttpResponseError, resource: str) -> StorageError:
    status = int(error.status_code or 0)
    code = _error_code(error)
    request_id = _header(error, "x-ms-request-id")
    message = f"{resource}: {status} {code or error.reason or 'error'}"
    kind: type[StorageError] = StorageError
    if status in (409, 412) or code in _CONFLICT_CODES:
        kind = ConflictError
    elif status == 404:
        kind = ResourceNotFoundError
    elif status in (401, 403):
        kind = StorageAuthenticationError
    elif status in (408, 429) or status >= 500:
        return TransientStorageError(
            message,
            may_have_been_applied=status not in _NOT_APPLIED_STATUSES,
            status=status,
            error_code=code,
            request_id=request_id,
            resource=resource,
        )
    return kind(message, status=status, error_code=code, request_id=request_id, resource=resource)


def _header(error: HttpResponseError, name: str) -> str | None:
    headers = getattr(error.response, "headers", None)
    value = headers.get(name) if headers is not None else None
    return str(value) if value else None


def _error_code(error: HttpResponseError) -> str | None:
    code = getattr(error, "error_code", None)
    if isinstance(code, enum.Enum):  # the storage SDKs hand out StorageErrorCode members
        code = code.value
    if code:
        return str(code)
    return _header(error, "x-ms-error-code")


_TRANSPORT_ERRORS = (AzureError, aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)


@contextmanager
def storage_errors(resource: str) -> Iterator[None]:
    """Re-raise SDK and transport exceptions of the block as durable_storage errors about ``resource``."""
    try:
        yield
    except StorageError:
        raise
    except (HttpResponseError, ServiceRequestError, ServiceResponseError) as error:
        raise translate(error, resource) from None
    except _TRANSPORT_ERRORS as error:
        raise translate(error, resource) from None
    except Exception as error:
        # Azurite answers an oversized table batch with a malformed multipart body, which surfaces as
        # http.client.BadStatusLine rather than an azure-core error (toolchain.md §5).
        if type(error).__module__ == "http.client":
            raise translate(error, resource) from None
        raise


class _Raise(enum.Enum):
    RAISE = enum.auto()


class StorageVerbs:
    """The base of the verb classes (``Tables``, ``Queues``, ``Blobs``): one way to make an SDK call."""

    def __init__(self, retry: StorageRetryPolicy) -> None:
        self._retry = retry

    async def _call(
        self,
        kind: OperationKind,
        resource: str,
        operation: Callable[[], Awaitable[T]],
        *,
        if_missing: T | _Raise = _Raise.RAISE,
        if_exists: T | _Raise = _Raise.RAISE,
    ) -> T:
        """``operation()``, its SDK errors raised as ours about ``resource``, retried as ``kind`` allows.

        ``if_missing`` / ``if_exists``: what an attempt that fails with ResourceNotFoundError / ConflictError
        returns instead of raising (a delete of what is gone, a create of what exists: both done).
        """

        async def attempt() -> T:
            try:
                with storage_errors(resource):
                    return await operation()
            except ResourceNotFoundError:
                if if_missing is _Raise.RAISE:
                    raise
                return if_missing
            except ConflictError:
                if if_exists is _Raise.RAISE:
                    raise
                return if_exists

        return await self._retry.run(kind, attempt)


async def done(operation: Awaitable[object]) -> bool:
    """True once ``operation`` is done (for verbs that answer whether they found their target)."""
    await operation
    return True
