"""The real azure-functions-durable 1.7.0 and our replay engine agree on every scenario (issue 4, point 7)."""

from __future__ import annotations

import pytest

from .harness import Scenario, run
from .scenarios import SCENARIOS

AGREED = [s for s in SCENARIOS if not s.deviation]
DEVIATIONS = [s for s in SCENARIOS if s.deviation]


@pytest.mark.parametrize("scenario", AGREED, ids=[s.name for s in AGREED])
def test_our_engine_records_what_the_sdk_records(scenario: Scenario) -> None:
    outcome = run(scenario)
    assert outcome.ours == outcome.df, outcome.describe()


@pytest.mark.parametrize("scenario", DEVIATIONS, ids=[s.name for s in DEVIATIONS])
def test_deliberate_deviations_keep_the_scheduled_work_and_the_message(scenario: Scenario) -> None:
    outcome = run(scenario)
    assert outcome.ours.work == outcome.df.work, outcome.describe()
    if scenario.name.startswith("entity call"):
        # Same failure, same text from the entity; ours also names the entity and the operation.
        df_text = str(outcome.df.output if outcome.df.output is not None else outcome.df.error)
        ours_text = str(outcome.ours.output if outcome.ours.output is not None else outcome.ours.error)
        assert df_text.replace("caught: ", "") in ours_text, outcome.describe()
        assert "'add' on @counter@myCounter" in ours_text
    else:
        assert outcome.df.error is not None and "not JSON serializable" in outcome.df.error
        assert outcome.ours.done and outcome.ours.error is None
        assert outcome.ours.output["__class__"] == "Pet", outcome.describe()


def test_the_check_covers_at_least_40_scenarios() -> None:
    assert len(SCENARIOS) >= 40
