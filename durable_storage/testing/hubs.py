"""Throwaway task hubs for tests."""

from __future__ import annotations

import uuid

__all__ = ["unique_hub_name"]


def unique_hub_name(prefix: str = "t") -> str:
    """A task hub name no other test uses: ``prefix`` + 16 hex digits (keep the prefix to letters, <= 29 chars)."""
    return prefix + uuid.uuid4().hex[:16]
