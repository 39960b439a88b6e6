"""Every options class checks each setting's type and range, naming the setting, the value and the range (pure)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from durable_storage import ReplayOptions, WorkerOptions
from durable_storage.__main__ import main
from durable_storage._storage.faults import FaultRule
from durable_storage.errors import ConfigurationError
from durable_storage.gate._cost import Prices
from durable_storage.models import RetryOptions
from durable_storage.retry import StorageRetryPolicy

INF = math.inf


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lease_interval": INF}, "lease_interval inf is invalid: must be a finite number of seconds, 1 to 3600"),
        ({"lease_interval": 1e308}, "lease_interval 1e+308 is invalid: must be a finite number of seconds, 1 to 3600"),
        ({"max_polling_interval": INF}, "max_polling_interval inf is invalid: must be a finite number of seconds"),
        ({"max_polling_interval": math.nan}, "max_polling_interval nan is invalid"),
        ({"lease_interval": True}, "lease_interval True is invalid: must be a finite number of seconds"),
        ({"drain_timeout": "10"}, "drain_timeout '10' is invalid: must be a finite number of seconds"),
        ({"max_clock_skew": None}, "max_clock_skew None is invalid: must be a finite number of seconds, 0 to 86400"),
        (
            {"work_item_visibility": 0.5},
            "work_item_visibility 0.5 is invalid: must be a finite number of seconds, 1 to",
        ),
        (
            {"min_polling_interval": 2.0},
            "min_polling_interval 2.0 is invalid: must be a finite number of seconds, greater than 0 and at most 1",
        ),
        ({"lease_renew_interval": 30.0}, "lease_renew_interval 30.0 is invalid: must be shorter than lease_interval"),
        ({"max_concurrent_activities": 2.0}, "max_concurrent_activities 2.0 is invalid: must be an integer, 1 to"),
        ({"max_concurrent_orchestrations": 10**9}, "max_concurrent_orchestrations 1000000000 is invalid"),
        ({"max_dequeue_count": False}, "max_dequeue_count False is invalid: must be an integer, 1 to 1000"),
        ({"replay": {}}, "replay {} is invalid: must be a ReplayOptions"),
        ({"replay_deadline": 0}, "replay_deadline 0 is invalid: must be a finite number of seconds, greater than 0"),
        ({"replay_deadline": INF}, "replay_deadline inf is invalid: must be a finite number of seconds"),
        ({"replay_deadline": "5"}, "replay_deadline '5' is invalid: must be a finite number of seconds"),
        ({"worker_id": ""}, "worker_id '' is invalid: must be a non-empty string"),
    ],
)
def test_worker_options_refuse_a_value_of_the_wrong_type_or_out_of_range(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        WorkerOptions(**changes)
    assert str(caught.value).startswith(message)


def test_worker_options_accept_their_bounds() -> None:
    options = WorkerOptions(lease_interval=3600, lease_renew_interval=1, max_polling_interval=600, max_clock_skew=0)
    assert options.lease_interval == 3600 and options.max_clock_skew == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_timer_duration": 0}, "max_timer_duration 0 is invalid: must be a timedelta longer than 0:00:00"),
        ({"max_timer_duration": timedelta(0)}, "max_timer_duration datetime.timedelta(0) is invalid"),
        (
            {"max_timer_duration": timedelta(days=8)},
            "max_timer_duration datetime.timedelta(days=8) is invalid: must be a timedelta longer than 0:00:00 and "
            "at most 7 days",
        ),
        ({"long_timer_interval": None}, "long_timer_interval None is invalid: must be a timedelta"),
        (
            {"long_timer_interval": timedelta(days=7)},
            "long_timer_interval datetime.timedelta(days=7) is invalid: must be a timedelta longer than 0:00:00 and "
            "at most 6 days",
        ),
    ],
)
def test_replay_options_refuse_a_timer_length_that_is_no_positive_timedelta(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ReplayOptions(**changes)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: StorageRetryPolicy(max_delay=INF), "retry max_delay inf is invalid"),
        (lambda: StorageRetryPolicy(attempts=10**6), "retry attempts 1000000 is invalid: must be an integer, 1 to 100"),
        (lambda: Prices(table_per_10k=INF), "price table_per_10k inf is invalid: must be a finite number of USD"),
        (lambda: FaultRule(server_busy=True), "fault server_busy True is invalid: must be a finite number of chances"),
        (lambda: FaultRule(limit=-1), "fault limit -1 is invalid: must be an integer, at least 0"),
        (lambda: RetryOptions(INF, 3), "first_retry_interval_in_milliseconds inf is invalid"),
    ],
)
def test_the_other_options_classes_share_the_same_checks(make: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        make()
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("value", ["inf", "1e308", "nan", "-1"])
def test_the_worker_command_refuses_an_infinite_lease_before_it_says_running(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--connection", "UseDevelopmentStorage=true", "worker", "tests.e2e.apps:app", "--lease-interval", value]
    )

    out, err = capsys.readouterr()
    assert code == 2 and "running" not in out
    assert "lease_interval" in err and "must be a finite number of seconds, 1 to 3600" in err


@pytest.mark.parametrize(
    ("switch", "message"),
    [
        (["--crash-at", "C2"], "crash point 'C2' is invalid: must be NAME:N with N >= 1"),
        (["--clock-skew", "1e9"], "clock skew 1000000000.0 is invalid: must be a number of seconds"),
        (["--faults", "{"], "fault plan '{' is invalid"),
        (["--dequeue-trace", "/no/such/folder/t.jsonl"], "dequeue trace '/no/such/folder/t.jsonl' is invalid"),
    ],
)
def test_the_worker_commands_test_switches_are_hidden_and_checked_before_it_says_running(
    switch: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["worker", "--help"])
    assert "--crash-at" not in capsys.readouterr().out  # the fault tests' switches: no user needs them

    code = main(["--connection", "UseDevelopmentStorage=true", "worker", "tests.e2e.apps:app", *switch])

    out, err = capsys.readouterr()
    assert code == 2 and "running" not in out
    assert message in err
