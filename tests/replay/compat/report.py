"""Print how many scenarios our engine and azure-functions-durable 1.7.0 agree on, and every difference.

    python -m tests.replay.compat.report

Exits 1 when a scenario differs (or fails to run under either engine).
"""

from __future__ import annotations

import sys
import traceback

from .harness import Scenario, run
from .scenarios import SCENARIOS


def _check(scenario: Scenario) -> str | None:
    """None when both engines agree, else what differs."""
    try:
        outcome = run(scenario)
    except Exception:
        return f"{scenario.name}: the harness raised\n{traceback.format_exc()}"
    return None if outcome.matched else outcome.describe()


def main() -> int:
    differences = [d for d in map(_check, SCENARIOS) if d is not None]
    deliberate = [s for s in SCENARIOS if s.deviation]
    for difference in differences:
        print(difference, end="\n\n")
    print(f"{len(SCENARIOS)} scenarios, {len(SCENARIOS) - len(differences)} matched exactly")
    for scenario in deliberate:
        print(f"  deliberate: {scenario.name}: {scenario.deviation}")
    unexplained = len(differences) - len(deliberate)
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
