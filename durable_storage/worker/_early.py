"""Control messages that surface before they are due: timers, scheduled starts and scheduled entity signals.

A queue hides a message for at most 7 days, so a later ``FireAt`` arrives early and is hidden again for the rest
of the way. "Early" is first judged by our clock, against the due time the sender wrote by *its* clock. When two
machines' clocks differ, the queue's own (server) time settles it: the message's ``inserted_on`` and the event's
``Timestamp`` were taken at the same moment, one by the server and one by the sender, so their difference carries
the due time onto the server's clock, and ``next_visible_on`` minus the visibility we asked for is the server's
time of the receive. The server's view is only trusted when it disagrees with ours by more than its one-second
rounding can explain; otherwise a timer never fires before its ``FireAt`` by our clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from durable_storage._datetimes import assume_utc
from durable_storage._storage.queues import MAX_VISIBILITY_SECONDS, QueueMessage
from durable_storage.entities import scheduled_time_of
from durable_storage.history import EventRaisedEvent, ExecutionStartedEvent, HistoryEvent, TimerFiredEvent

__all__ = ["seconds_early"]

# Server times come in whole seconds (RFC 1123), two of them per estimate; disagreement beyond this is clock skew.
_SERVER_ROUNDING = 5.0


def _due(event: HistoryEvent) -> datetime | None:
    due: datetime | None = None
    if isinstance(event, TimerFiredEvent):
        due = event.fire_at
    elif isinstance(event, ExecutionStartedEvent):
        due = event.scheduled_start_time
    elif isinstance(event, EventRaisedEvent):
        due = scheduled_time_of(event.name)  # an entity signal for later: ``op@<due>``
    return None if due is None else assume_utc(due)


def _server_wait(event: HistoryEvent, due: datetime, message: QueueMessage, visibility: float) -> float | None:
    """Seconds until ``due`` on the queue's clock, or None when the message lacks the times to tell."""
    sent = getattr(event, "timestamp", None)
    if message.inserted_on is None or message.next_visible_on is None or not isinstance(sent, datetime):
        return None
    sender_behind_server = assume_utc(message.inserted_on) - assume_utc(sent)
    server_now = assume_utc(message.next_visible_on) - timedelta(seconds=visibility)
    return (due + sender_behind_server - server_now).total_seconds()


def seconds_early(event: HistoryEvent, message: QueueMessage, *, now: datetime, visibility: float) -> float:
    """How long to hide ``message`` again (0: it is due). ``visibility``: what the receive asked for, in seconds."""
    due = _due(event)
    if due is None:
        return 0.0
    wait = (due - now).total_seconds()
    if wait <= 0:
        return 0.0
    server_wait = _server_wait(event, due, message, visibility)
    if server_wait is not None and server_wait < wait - _SERVER_ROUNDING:
        wait = max(server_wait, 0.0)  # our clock is behind the sender's: the server's time decides (T11)
    return min(wait, float(MAX_VISIBILITY_SECONDS))
