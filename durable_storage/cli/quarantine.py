"""``durable-storage quarantine list|requeue``: see and re-queue messages that could never be processed."""

from __future__ import annotations

import argparse
import json

from durable_storage.taskhub import TaskHub

__all__ = ["quarantine_command"]


async def quarantine_command(hub: TaskHub, arguments: argparse.Namespace) -> tuple[str, bool]:
    """The command's output, and False when ``requeue`` found no such message (exit code 1)."""
    async with hub:
        if arguments.quarantine_command == "requeue":
            return await _requeue(hub, arguments.message_id, arguments.queue)
        messages = await hub.quarantine.list()
    if arguments.json:
        return json.dumps([m.to_dict() for m in messages], indent=2), True
    if not messages:
        return f"task hub {hub.name}: no quarantined messages", True
    lines = [f"task hub {hub.name}: {len(messages)} quarantined messages"]
    for message in messages:
        when = message.quarantined_at.isoformat() if message.quarantined_at else "?"
        lines.append(
            f"  {message.message_id}  queue {message.queue}  instance {message.instance_id or '-'}  "
            f"received {message.dequeue_count}x  quarantined {when}\n    {message.reason}"
        )
    return "\n".join(lines), True


async def _requeue(hub: TaskHub, message_id: str, queue: str | None) -> tuple[str, bool]:
    candidates = [m for m in await hub.quarantine.list() if m.message_id == message_id]
    if queue is not None:
        candidates = [m for m in candidates if m.queue == queue]
    if len(candidates) != 1:
        why = "no quarantined message has" if not candidates else "several queues have a quarantined message with"
        return f"error: {why} ID {message_id!r}", False
    await hub.quarantine.requeue(candidates[0].queue, message_id)
    return f"message {message_id} re-queued to {candidates[0].queue}", True
