"""Timer triggers: run each function on its schedule, once per occurrence across every host process of a hub.

What the Functions host does (``TimerListener``, functions-host.md §6) and what we do:

- the schedule (``%Setting%`` resolved from the environment) is NCRONTAB or a TimeSpan (``_cron``), computed on the
  local time zone: ``WEBSITE_TIME_ZONE`` or ``TZ`` when set (an IANA name), else the machine's zone;
- at start, with the schedule monitor on, a ``Next`` in the stored status that has passed gives one immediate call
  with ``IsPastDue = true``; otherwise ``run_on_startup`` gives one immediate call; then the schedule runs;
- the monitor is switched off, as the host does, for schedules firing more than once a minute;
- a failed invocation is logged and not retried.

Once per occurrence: the host lets one process hold a blob lease and run the listener. We let every process run the
schedule and have storage decide each occurrence instead: before invoking occurrence ``t`` a runner replaces the
function's status blob ``{Last, Next, LastUpdated}`` with ``Last = t``, conditioned on the ETag it read (If-Match,
or If-None-Match for the first write), and only if the ``Last`` it read is before ``t``. Of the runners that wake for
``t`` exactly one write succeeds; the others get 412/409, re-read, see ``Last >= t`` and skip. One blob per function,
not a marker per occurrence (an every-second schedule would leave 86,400 blobs a day), and the same blob is the
monitor's status that past-due detection reads, so no occurrence has two sources of truth. No lease means no
failover gap either: a process that stops simply stops competing. The price is at most once, like the host's: a
process that wins ``t`` and dies before invoking loses ``t``. ``run_on_startup`` is not claimed: it runs in each
process that starts, as the docs say it does when an app scales out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from types import TracebackType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from durable_storage._clock import Clock
from durable_storage._storage.timer_status import ScheduleStatus, StoredScheduleStatus, TimerStatusStore
from durable_storage.errors import ConfigurationError, StorageError
from durable_storage.host._cron import CronSchedule, IntervalSchedule, parse_schedule
from durable_storage.taskhub import TaskHub

__all__ = ["TimerRunner", "TimerTrigger", "local_zone", "resolve_settings"]

_log = logging.getLogger(__name__)

_SETTING = re.compile(r"%([^%]*)%")
_CLAIM_ATTEMPTS = 5  # each conflict means another runner wrote: a few re-reads settle any race
_LONGEST_SLEEP = 60.0  # re-read the clock at least this often, so that a clock change is noticed
_STORAGE_BACKOFF = (1.0, 30.0)  # first and longest pause after a storage failure


@dataclass(frozen=True, kw_only=True)
class TimerTrigger:
    """One timer-triggered function.

    Attributes:
        function_name: the function's name (its status blob is named after it).
        schedule: the raw ``schedule`` binding value: NCRONTAB, a TimeSpan, or ``%AppSetting%`` naming one.
        run_on_startup: call once as soon as the runner starts.
        use_monitor: keep a schedule status and call once, past due, for an occurrence missed while stopped.
        invoke: called with the timer JSON payload the host passes
            (``{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{...}|null,"IsPastDue":bool}``).
    """

    function_name: str
    schedule: str
    run_on_startup: bool = False
    use_monitor: bool = True
    invoke: Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class _Timer:
    trigger: TimerTrigger
    schedule: CronSchedule | IntervalSchedule
    monitor: bool

    @property
    def name(self) -> str:
        return self.trigger.function_name


@dataclass(frozen=True)
class _Claim:
    won: bool
    previous: ScheduleStatus | None  # the status before this write, as the host passes it to the function
    stored: StoredScheduleStatus | None


def resolve_settings(value: str, environ: Mapping[str, str], *, what: str) -> str:
    """``value`` with every ``%Name%`` replaced by that environment variable, as the host's name resolver does.

    Raises:
        ConfigurationError: a named setting is not set; the message names it and ``what`` used it.
    """

    def setting(match: re.Match[str]) -> str:
        name = match[1]
        if name not in environ:
            raise ConfigurationError(f"{what} {value!r} names app setting {name!r}, which is not set")
        return environ[name]

    return _SETTING.sub(setting, value)


def local_zone(environ: Mapping[str, str]) -> tzinfo:
    """The zone the host computes schedules in: ``WEBSITE_TIME_ZONE``, else ``TZ``, else the machine's own.

    Raises:
        ConfigurationError: a variable is set to something that is not an IANA zone name (Windows zone names,
            which App Service on Windows accepts, are not supported).
    """
    for variable in ("WEBSITE_TIME_ZONE", "TZ"):
        raw = environ.get(variable, "").strip()
        if raw:
            try:
                return ZoneInfo(raw.removeprefix(":"))  # a leading ':' is the POSIX way to name a zone file
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigurationError(
                    f"{variable}={raw!r} is not a time zone we can use: must be an IANA name such as "
                    "'Europe/Paris' or 'UTC' (Windows zone names are not supported)"
                ) from None
    try:
        with open("/etc/localtime", "rb") as file:
            return ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        # No zone database entry for this machine (Windows, a bare container): its current offset, without DST.
        offset = datetime.now().astimezone().tzinfo
        assert offset is not None
        return offset


def _payload(status: ScheduleStatus | None, *, past_due: bool) -> str:
    document = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": status.to_json() if status is not None else None,
        "IsPastDue": past_due,
    }
    return json.dumps(document)


def _recorded_next(timer: _Timer, status: ScheduleStatus | None, zone: tzinfo) -> datetime | None:
    """The status's ``Next`` when it is what this schedule gives after the status's ``Last`` (the host's own test
    for a changed schedule), else None."""
    if status is None or status.last is None or status.next is None:
        return None
    return status.next if timer.schedule.next_after(status.last.astimezone(zone)) == status.next else None


def _due_occurrence(timer: _Timer, status: ScheduleStatus | None, now: datetime) -> datetime:
    """The occurrence to wait for: the recorded ``Next`` while it is ahead, so that every process waits for the same
    TimeSpan occurrence (``now + interval`` differs from process to process), else the schedule's next after now."""
    zone = now.tzinfo
    assert zone is not None
    recorded = _recorded_next(timer, status, zone)
    return recorded.astimezone(zone) if recorded is not None and recorded > now else timer.schedule.next_after(now)


def _is_past_due(timer: _Timer, status: ScheduleStatus | None, now: datetime) -> bool:
    """True when the monitor is on and the occurrence after the recorded ``Last`` (or the recorded ``Next``, when
    nothing ran yet) has passed: the host recomputes it from ``Last`` so that a changed schedule counts."""
    if not timer.monitor or status is None:
        return False
    zone = now.tzinfo
    assert zone is not None
    expected = timer.schedule.next_after(status.last.astimezone(zone)) if status.last is not None else status.next
    return expected is not None and now > expected


class TimerRunner:
    """Runs timer-triggered functions on their schedules until it is stopped.

    Use it as an async context manager: entering starts one task per trigger, leaving cancels and awaits them all.

    Args:
        triggers: the timer functions (names must be unique).
        hub: the task hub whose storage decides which process runs an occurrence.
        host_id: the host id: apps sharing a hub need distinct ones, as apps sharing a storage account do.
        clock: the current time (aware); the hub's clock by default (a seam for tests).
        zone: the zone schedules run in; by default :func:`local_zone` of ``environ``.
        environ: where ``%Setting%`` and the zone are read; ``os.environ`` by default.

    Raises:
        ConfigurationError: a schedule, setting, name or zone is invalid; nothing has been started or written.
    """

    def __init__(
        self,
        triggers: Sequence[TimerTrigger],
        *,
        hub: TaskHub,
        host_id: str,
        clock: Clock | None = None,
        zone: tzinfo | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        self._store: TimerStatusStore = hub.timers
        self._host_id = host_id
        self._clock = clock if clock is not None else hub.clock
        self._zone = zone if zone is not None else local_zone(environ)
        self._timers = [self._timer(trigger, environ) for trigger in triggers]
        names = [timer.name for timer in self._timers]
        if duplicates := sorted({name for name in names if names.count(name) > 1}):
            raise ConfigurationError(f"timer functions {duplicates} are defined more than once: names must be unique")
        self._tasks: list[asyncio.Task[None]] = []

    def _timer(self, trigger: TimerTrigger, environ: Mapping[str, str]) -> _Timer:
        TimerStatusStore.blob_name(self._host_id, trigger.function_name)  # validates both names
        try:
            schedule = parse_schedule(resolve_settings(trigger.schedule, environ, what="schedule"))
        except ConfigurationError as error:
            raise ConfigurationError(f"timer function {trigger.function_name!r}: {error}") from None
        monitor = trigger.use_monitor and not schedule.fires_often(self._now())
        if trigger.use_monitor and not monitor:
            _log.info("timer %s: use_monitor is off, its schedule fires more than once a minute", trigger.function_name)
        return _Timer(trigger, schedule, monitor)

    @property
    def zone(self) -> tzinfo:
        """The zone schedules are computed in."""
        return self._zone

    def _now(self) -> datetime:
        return self._clock().astimezone(self._zone)

    async def __aenter__(self) -> TimerRunner:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._run(timer), name=f"timer {timer.name}") for timer in self._timers]
            _log.info("timers started: %s", ", ".join(timer.name for timer in self._timers) or "none")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Cancel every timer task, a running invocation included, and wait for them. Idempotent."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, timer: _Timer) -> None:
        try:
            stored = await self._storage_patiently(timer, self._start, timer)
            while True:
                target = _due_occurrence(timer, stored.status if stored else None, self._now())
                await self._sleep_until(target)
                stored = await self._storage_patiently(timer, self._occur, timer, target)
        except Exception:
            # A bug of ours, not of the function (_invoke catches those): say so rather than stop silently.
            _log.exception("timer %s stopped by an unexpected error", timer.name)

    async def _start(self, timer: _Timer) -> StoredScheduleStatus | None:
        stored = await self._store.read(self._host_id, timer.name)
        if _is_past_due(timer, stored.status if stored else None, self._now()):
            claim = await self._claim(timer, lambda status, now: self._past_due_status(timer, status, now))
            stored = claim.stored
            if claim.won:
                await self._invoke(timer, claim.previous, past_due=True)
                return stored
        if timer.trigger.run_on_startup:
            await self._invoke(timer, stored.status if stored else None, past_due=False)
        return stored

    async def _occur(self, timer: _Timer, target: datetime) -> StoredScheduleStatus | None:
        claim = await self._claim(timer, lambda status, now: self._occurrence_status(timer, target, status, now))
        if claim.won:
            await self._invoke(timer, claim.previous, past_due=False)
        return claim.stored

    def _occurrence_status(
        self, timer: _Timer, target: datetime, status: ScheduleStatus | None, now: datetime
    ) -> ScheduleStatus | None:
        if status is not None and status.last is not None and status.last >= target:
            return None  # another process ran this occurrence (or a later one)
        recorded = _recorded_next(timer, status, self._zone)
        if recorded is not None and recorded > target:
            return None  # a TimeSpan occurrence another process ran just before ours: its Next is the next one
        return ScheduleStatus(last=target, next=timer.schedule.next_after(target), last_updated=now)

    def _past_due_status(self, timer: _Timer, status: ScheduleStatus | None, now: datetime) -> ScheduleStatus | None:
        if not _is_past_due(timer, status, now):
            return None  # another process made the past-due call
        # As the host does: the past-due call counts as an occurrence now, and the schedule resumes from here.
        return ScheduleStatus(last=now, next=timer.schedule.next_after(now), last_updated=now)

    async def _claim(
        self, timer: _Timer, decide: Callable[[ScheduleStatus | None, datetime], ScheduleStatus | None]
    ) -> _Claim:
        """Write the status ``decide`` makes of the stored one, conditioned on the ETag it was read at."""
        stored: StoredScheduleStatus | None = None
        for _ in range(_CLAIM_ATTEMPTS):
            stored = await self._store.read(self._host_id, timer.name)
            previous = stored.status if stored else None
            status = decide(previous, self._now())
            if status is None:
                return _Claim(won=False, previous=previous, stored=stored)
            etag = stored.etag if stored else None
            written = await self._store.try_write(self._host_id, timer.name, status, etag=etag)
            if written is not None:
                return _Claim(won=True, previous=previous, stored=written)
        _log.warning("timer %s: gave up claiming after %d conflicting writes", timer.name, _CLAIM_ATTEMPTS)
        return _Claim(won=False, previous=None, stored=stored)

    async def _invoke(self, timer: _Timer, status: ScheduleStatus | None, *, past_due: bool) -> None:
        payload = _payload(status if timer.monitor else None, past_due=past_due)
        try:
            await timer.trigger.invoke(payload)
        except Exception as error:  # the host logs a failed timer function and does not retry it
            first_line = (str(error).splitlines() or [""])[0]
            _log.error("timer function %s failed: %s: %s", timer.name, type(error).__name__, first_line)

    async def _sleep_until(self, target: datetime) -> None:
        # In slices, re-reading the wall clock: it can be set (NTP, a test's skewed clock) while we sleep.
        while (remaining := (target - self._clock()).total_seconds()) > 0:  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(min(remaining, _LONGEST_SLEEP))

    async def _storage_patiently(
        self, timer: _Timer, step: Callable[..., Awaitable[StoredScheduleStatus | None]], *args: object
    ) -> StoredScheduleStatus | None:
        """``step(*args)``, tried again after a pause while storage fails (a timer must outlive an outage)."""
        delay, longest = _STORAGE_BACKOFF
        while True:
            try:
                return await step(*args)
            except StorageError as error:
                _log.warning("timer %s: storage failed (%s); trying again in %.0f s", timer.name, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, longest)
