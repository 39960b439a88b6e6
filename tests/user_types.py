"""A class of a user's own, as tests send it through the codec: the client's inputs, the replay engine's values."""

from __future__ import annotations

from typing import Any


class Point:
    """A user class that travels through to_json/from_json, as azure-functions-durable allows."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    @staticmethod
    def to_json(obj: Point) -> dict[str, int]:
        return {"x": obj.x, "y": obj.y}

    @staticmethod
    def from_json(data: dict[str, int]) -> Point:
        return Point(data["x"], data["y"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    __hash__ = None  # type: ignore[assignment]


def point_json(x: int, y: int) -> dict[str, Any]:
    """``Point(x, y)`` as the codec writes it: its class, the module to import it from, and its data."""
    return {"__class__": "Point", "__module__": Point.__module__, "__data__": {"x": x, "y": y}}
