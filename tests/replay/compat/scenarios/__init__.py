"""The scenarios, grouped by concept; each is modelled on a situation of azure-functions-durable's own tests."""

from __future__ import annotations

from ..harness import Scenario
from . import activities, features, sdk_objects, waiting

_OWN: list[Scenario] = [*activities.SCENARIOS, *waiting.SCENARIOS, *features.SCENARIOS, *sdk_objects.SCENARIOS]
SCENARIOS: list[Scenario] = [*_OWN, *sdk_objects.replayed(_OWN)]

_names = [s.name for s in SCENARIOS]
assert len(set(_names)) == len(_names), "scenario names must be unique"
