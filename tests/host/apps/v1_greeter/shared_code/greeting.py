"""Shared by the orchestrator and the activity, imported relatively (``from ..shared_code.greeting``)."""

from __future__ import annotations

from typing import Any


class Greeting:
    def __init__(self, name: str, punctuation: str) -> None:
        self.name = name
        self.punctuation = punctuation

    @staticmethod
    def to_json(obj: Greeting) -> dict[str, Any]:
        return {"name": obj.name, "punctuation": obj.punctuation}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Greeting:
        return Greeting(data["name"], data["punctuation"])
