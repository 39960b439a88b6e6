"""The async context-manager protocol of everything that owns storage clients: ``async with`` closes it."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["AsyncClosing"]

_Self = TypeVar("_Self", bound="AsyncClosing")


class AsyncClosing:
    """A base for objects with an idempotent ``async close()``; entering returns the object itself."""

    async def close(self) -> None:
        """Release what the object holds. Subclasses make it safe to call more than once."""
        raise NotImplementedError

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
