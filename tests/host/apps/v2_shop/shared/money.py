"""A value the orchestrations pass around: a custom class with to_json/from_json, as the SDK's docs show."""

from __future__ import annotations

from typing import Any


class Money:
    def __init__(self, cents: int, currency: str) -> None:
        self.cents = cents
        self.currency = currency

    @staticmethod
    def to_json(obj: Money) -> dict[str, Any]:
        return {"cents": obj.cents, "currency": obj.currency}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Money:
        return Money(data["cents"], data["currency"])
