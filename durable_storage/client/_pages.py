"""Paged instance queries: an async iterator of statuses that also hands out pages and continuation tokens.

Shaped like the Azure SDK's ``AsyncItemPaged``: iterate it for every status, or call :meth:`InstancePager.by_page`
to get one page per request and resume later from a page's ``continuation_token``. The token is opaque text
(the table service's next PartitionKey and RowKey); .NET joins the two with a space, which an instance ID can
contain, so ours is base64 of JSON instead.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from durable_storage.errors import ConfigurationError
from durable_storage.models import DurableOrchestrationStatus, EntityMetadata

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "EntityPage",
    "EntityPager",
    "InstancePage",
    "InstancePager",
    "decode_token",
    "encode_token",
]

DEFAULT_PAGE_SIZE = 100
"""Instances or entities per request when the caller names no ``page_size``."""

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_TOKEN_KEYS = frozenset({"PartitionKey", "RowKey"})


def encode_token(continuation: dict[str, str] | None) -> str | None:
    """The opaque text of a table continuation, None on the last page."""
    if continuation is None:
        return None
    # The service may leave out the next RowKey (the SDK gives None); a missing key means the same to the SDK.
    present = {key: value for key, value in continuation.items() if value is not None}
    return base64.urlsafe_b64encode(json.dumps(present).encode("utf-8")).decode("ascii")


def decode_token(token: str | None) -> dict[str, str] | None:
    """The table continuation of a token from :func:`encode_token`.

    Raises:
        ConfigurationError: the token was not made by this client (the message does not repeat it).
    """
    if token is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, AttributeError):
        value = None
    valid = isinstance(value, dict) and set(value) <= _TOKEN_KEYS and all(isinstance(v, str) for v in value.values())
    if not valid:
        raise ConfigurationError("continuation_token is invalid: must be a page's continuation_token, unchanged")
    return {str(k): str(v) for k, v in value.items()}


@dataclass(frozen=True)
class InstancePage:
    """One page of a query.

    Attributes:
        statuses: the instances of this page (possibly none, even before the last page).
        continuation_token: where the next page starts, or None after the last page.
    """

    statuses: list[DurableOrchestrationStatus]
    continuation_token: str | None

    @property
    def items(self) -> list[DurableOrchestrationStatus]:
        """The page's statuses."""
        return self.statuses


@dataclass(frozen=True)
class EntityPage:
    """One page of ``list_entities``.

    Attributes:
        entities: the entities of this page (possibly none, even before the last page).
        continuation_token: where the next page starts, or None after the last page.
    """

    entities: list[EntityMetadata]
    continuation_token: str | None

    @property
    def items(self) -> list[EntityMetadata]:
        """The page's entities."""
        return self.entities


class _HasItems(Protocol[T_co]):
    @property
    def items(self) -> Sequence[T_co]: ...

    @property
    def continuation_token(self) -> str | None: ...


P = TypeVar("P", bound=_HasItems[Any])


class _Pager(Generic[T, P]):
    """``async for item in pager`` or ``async for page in pager.by_page()``; nothing is requested before that.

    Each page is one request to the Instances table.
    """

    def __init__(self, fetch: Callable[[str | None], Awaitable[P]]) -> None:
        self._fetch = fetch

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.by_page():
            for item in page.items:
                yield item

    async def by_page(self, continuation_token: str | None = None) -> AsyncIterator[P]:
        """The pages from ``continuation_token`` (a previous page's) or from the start, until the last.

        Raises:
            ConfigurationError: ``continuation_token`` was not made by this client.
        """
        decode_token(continuation_token)  # refuse a foreign token before the first request
        token = continuation_token
        while True:
            page = await self._fetch(token)
            yield page
            if page.continuation_token is None:
                return
            token = page.continuation_token


class InstancePager(_Pager[DurableOrchestrationStatus, InstancePage]):
    """The result of ``list_instances``: ``async for status in pager`` or ``async for page in pager.by_page()``."""


class EntityPager(_Pager[EntityMetadata, EntityPage]):
    """The result of ``list_entities``: ``async for entity in pager`` or ``async for page in pager.by_page()``."""
