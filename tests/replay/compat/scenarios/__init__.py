"""The scenarios, grouped by concept; each is modelled on a situation of azure-functions-durable's own tests."""

from __future__ import annotations

from ..harness import Scenario
from . import activities, features, waiting

SCENARIOS: list[Scenario] = [*activities.SCENARIOS, *waiting.SCENARIOS, *features.SCENARIOS]

_names = [s.name for s in SCENARIOS]
assert len(set(_names)) == len(_names), "scenario names must be unique"
