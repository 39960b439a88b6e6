"""The option types of the command line (JSON, times, statuses) and its plain-text tables; no storage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click
import pytest
from rich.text import Text

from durable_storage._clock import utcnow
from durable_storage.cli._common import JsonValue, StatusList, TimeValue, plain_text, table
from durable_storage.models import OrchestrationRuntimeStatus as Status


@pytest.mark.parametrize(
    ("text", "value"),
    [('{"n": [1, 2]}', {"n": [1, 2]}), ('"text"', "text"), ("3", 3), ("null", None), ("true", True)],
)
def test_json_values_are_parsed(text: str, value: object) -> None:
    assert JsonValue().convert(text, None, None) == value


def test_a_value_that_is_not_json_names_itself_and_the_quoting_rule() -> None:
    with pytest.raises(click.BadParameter, match=r"'hello' is not JSON \(Expecting value at character 0\)"):
        JsonValue().convert("hello", None, None)


def test_times_are_iso_8601_or_an_age() -> None:
    before = utcnow()
    two_hours_ago = TimeValue().convert("2h", None, None)
    ten_minutes_ahead = TimeValue(ahead=True).convert("10m", None, None)

    assert TimeValue().convert("2026-11-24T10:00:00Z", None, None) == datetime(2026, 11, 24, 10, tzinfo=timezone.utc)
    assert TimeValue().convert("2026-11-24T11:00:00+01:00", None, None) == datetime(
        2026, 11, 24, 10, tzinfo=timezone.utc
    )
    assert TimeValue().convert("2026-11-24", None, None) == datetime(2026, 11, 24, tzinfo=timezone.utc)  # UTC
    assert abs(two_hours_ago - (before - timedelta(hours=2))) < timedelta(seconds=5)
    assert abs(ten_minutes_ahead - (before + timedelta(minutes=10))) < timedelta(seconds=5)
    assert TimeValue().convert("1.5d", None, None) < before - timedelta(hours=35)


@pytest.mark.parametrize("text", ["yesterday", "2h ago", "3y", "-2h", "2026-13-01", "99999999999999d"])
def test_a_time_that_cannot_be_read_names_itself_and_the_forms(text: str) -> None:
    with pytest.raises(click.BadParameter, match=rf"{text!r} is not a time: must be ISO 8601 .* 30m, 2h, 3d"):
        TimeValue().convert(text, None, None)


def test_statuses_are_matched_in_any_case_and_comma_separated() -> None:
    assert StatusList().convert("completed,FAILED, Completed", None, None) == (Status.Completed, Status.Failed)
    assert StatusList().convert("continuedasnew", None, None) == (Status.ContinuedAsNew,)


def test_an_unknown_status_lists_the_allowed_names() -> None:
    allowed = "Running, Completed, ContinuedAsNew, Failed, Canceled, Terminated, Pending, Suspended"
    with pytest.raises(click.BadParameter, match=f"'Done' is not a runtime status: must be one of {allowed}$"):
        StatusList().convert("Completed,Done", None, None)


def test_plain_text_tables_are_not_folded_and_show_markup_as_text() -> None:
    shown = table("ID", "OUTPUT")
    shown.add_row(Text("x" * 150), Text("[red]not markup"))

    lines = plain_text(shown).splitlines()

    assert lines[0].split() == ["ID", "OUTPUT"] and lines[1] == "x" * 150 + "  [red]not markup"
