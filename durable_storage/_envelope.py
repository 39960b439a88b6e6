"""The queue envelope (MessageData around a TaskMessage), control-queue routing and the large-message rule; pure.

Messages are written exactly as a current DurableTask.AzureStorage writer lays them out, so .NET workers on the same
task hub read ours (storage-layout.md §3, history-event-fields.md §1-2). Messages we decode keep
their JSON object (``_source``): re-encoding one reproduces its layout, including the ``__type`` form of
DataContract hubs and any member a newer .NET writer added.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from uuid import UUID

from durable_storage._dotnet_json import (
    EVENT,
    INSTANCE,
    INT32,
    INT64,
    KINDS,
    STRING,
    STRING_DICTIONARY,
    Contract,
    Kind,
    contract,
    decode_object,
    dotnet_text,
    dump_json,
    encode_object,
    parse_json,
)
from durable_storage._dotnet_json import decode_event as _decode_event_json
from durable_storage._dotnet_json import encode_event as _encode_event_json
from durable_storage._names import MESSAGE_BLOB_LEAF
from durable_storage.errors import MessageFormatError
from durable_storage.history import (
    DistributedTraceContext,
    ExecutionStartedEvent,
    HistoryEvent,
    OrchestrationInstance,
    TaskScheduledEvent,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_QUEUE_MESSAGE_CHARS",
    "MessageData",
    "OrchestrationExecutionContext",
    "TaskMessage",
    "app_lease_id",
    "decode_event",
    "decode_message",
    "encode_event",
    "encode_message",
    "fnv1a32",
    "large_message_blob_name",
    "large_message_wrapper",
    "needs_blob",
    "partition_of",
    "with_parent_trace_context",
]

MAX_MESSAGE_BYTES = 45 * 1024
"""Above this many UTF-8 bytes of JSON a message goes to a blob: 64 KB less base64 growth (storage-layout.md §3.4)."""
MAX_QUEUE_MESSAGE_CHARS = 64 * 1024
"""The longest queue body we parse; Azure queues hold at most 64 KiB, so anything longer is not a queue message."""


@dataclass(frozen=True, slots=True)
class OrchestrationExecutionContext:
    """The tags of the orchestration that sent a TaskMessage (DurableTask.Core ``OrchestrationExecutionContext``)."""

    orchestration_tags: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskMessage:
    """A history event addressed to an orchestration instance (DurableTask.Core ``TaskMessage``)."""

    event: HistoryEvent
    sequence_number: int = 0
    orchestration_instance: OrchestrationInstance
    orchestration_execution_context: OrchestrationExecutionContext | None = None
    _source: Mapping[str, object] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageData:
    """The body of a control or work-item queue message (DurableTask.AzureStorage ``MessageData``).

    Attributes:
        activity_id: a new id per outbound message; names the blob of a large message.
        task_message: the message itself; None in the wrapper of a large message.
        compressed_blob_name: set only in that wrapper: where the full message is.
        sequence_number: the sender's send counter, a tie-breaker for ordering.
        episode: the sender's episode (its number of OrchestratorStarted events); None from clients.
        sender: the sending orchestration; ``OrchestrationInstance("", "")`` from clients.
        serializable_trace_context: the legacy Application Insights correlation payload.
    """

    activity_id: UUID
    task_message: TaskMessage | None = None
    compressed_blob_name: str | None = None
    sequence_number: int = 0
    episode: int | None = None
    sender: OrchestrationInstance | None = None
    serializable_trace_context: str | None = None
    _source: Mapping[str, object] | None = field(default=None, compare=False, repr=False)


def _decode_uuid(raw: object, where: str) -> UUID:
    try:
        return UUID(STRING.decode(raw, where))
    except ValueError:
        raise MessageFormatError(f"{where}: {raw!r} is not a GUID") from None


_KINDS: Mapping[str, Kind] = {
    **KINDS,
    "activity_id": Kind(lambda value, typed, source: str(value), _decode_uuid),
    "task_message": Kind(
        lambda value, typed, source: encode_object(value, _TASK_MESSAGE, typed=typed, source=source),
        lambda raw, where: decode_object(_TASK_MESSAGE, raw, where),
    ),
    "event": EVENT,
    "sequence_number": INT64,
    "orchestration_execution_context": Kind(
        lambda value, typed, source: encode_object(value, _CONTEXT, typed=typed, source=source),
        lambda raw, where: decode_object(_CONTEXT, raw, where),
    ),
    "orchestration_tags": STRING_DICTIONARY,
    "compressed_blob_name": STRING,
    "episode": INT32,
    # Sender has [JsonProperty(TypeNameHandling = None)]: never a $type (history-event-fields.md §1).
    "sender": Kind(
        lambda value, typed, source: encode_object(value, INSTANCE, typed=False, source=source),
        lambda raw, where: decode_object(INSTANCE, raw, where),
    ),
    "serializable_trace_context": STRING,
}
_CONTEXT: Contract[OrchestrationExecutionContext] = contract(
    OrchestrationExecutionContext, "DurableTask.Core.OrchestrationExecutionContext", _KINDS
)
_TASK_MESSAGE: Contract[TaskMessage] = contract(TaskMessage, "DurableTask.Core.TaskMessage", _KINDS)
# Episode and Sender are [DataMember(EmitDefaultValue = false)]: left out when null (storage-layout.md §3.1).
_MESSAGE_DATA: Contract[MessageData] = contract(
    MessageData, "DurableTask.AzureStorage.MessageData", _KINDS, omit_when_default=("episode", "sender")
)


def decode_message(body: str, *, max_chars: int = MAX_QUEUE_MESSAGE_CHARS) -> MessageData:
    """Read a queue message body: JSON when it starts with ``{``, else base64 of UTF-8 JSON (storage-layout.md §3.2).

    Args:
        body: the message text as the queue returned it, or the text of a large message's blob.
        max_chars: refuse longer bodies unread; raise it for blob contents.

    Raises:
        MessageFormatError: the body is too long, not base64 of UTF-8, not JSON, or not a MessageData we accept
            (an unknown ``$type``, a missing or mistyped member); the message names the bad value.
    """
    if len(body) > max_chars:
        raise MessageFormatError(f"queue message has {len(body)} characters: more than the {max_chars} allowed")
    # .NET's own test (DeserializeQueueMessageAsync): base64 never starts with "{", so hubs may mix both encodings.
    text = body if body.startswith("{") else _from_base64(body)
    try:
        return decode_object(_MESSAGE_DATA, parse_json(text, "queue message"), "MessageData")
    except RecursionError:
        raise MessageFormatError("queue message is nested too deeply to decode") from None


def _from_base64(body: str) -> str:
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        start = body[:20]
        raise MessageFormatError(f"queue message {start!r}... is neither JSON nor base64 of UTF-8: {exc}") from None


def encode_message(message: MessageData, *, base64_body: bool = False) -> str:
    """The queue body of ``message``: compact JSON, or its base64 for hubs set to ``QueueClientMessageEncoding.Base64``.

    Raises:
        ValueError: a value .NET cannot read (NaN, a lone surrogate, a UTC offset with seconds).
    """
    text = dump_json(encode_object(message, _MESSAGE_DATA, typed=True))
    return base64.b64encode(text.encode("utf-8")).decode("ascii") if base64_body else text


def decode_event(text: str, *, max_chars: int = MAX_QUEUE_MESSAGE_CHARS) -> HistoryEvent:
    """Read one history event written by Newtonsoft with type names (``$type`` or DataContract ``__type``).

    Raises:
        MessageFormatError: as :func:`decode_message`.
    """
    try:
        return _decode_event_json(parse_json(text, "history event", max_chars=max_chars), "Event")
    except RecursionError:
        raise MessageFormatError("history event is nested too deeply to decode") from None


def encode_event(event: HistoryEvent) -> str:
    """``event`` as compact JSON with type names, as inside a TaskMessage."""
    return dump_json(_encode_event_json(event))


def with_parent_trace_context(message: MessageData, context: DistributedTraceContext) -> MessageData:
    """``message`` with ``context`` as its event's ``ParentTraceContext``, when the event is one that hands a trace
    across a queue (ExecutionStarted, TaskScheduled: DurableTask.Core's ``SetParentTraceContext`` calls)."""
    task_message = message.task_message
    if task_message is None or not isinstance(task_message.event, (ExecutionStartedEvent, TaskScheduledEvent)):
        return message
    event = replace(task_message.event, parent_trace_context=context)
    return replace(message, task_message=replace(task_message, event=event))


# --- large messages (storage-layout.md §3.4) -------------------------------------------------------------------


def needs_blob(body: str) -> bool:
    """Whether an encoded JSON body is too large for a queue message and must go to a blob."""
    return len(body.encode("utf-8")) > MAX_MESSAGE_BYTES


def large_message_blob_name(message: MessageData) -> str:
    """``{rawInstanceId}/message-{ActivityId:N}-{EventType}.json.gz``, where the full message goes.

    Raises:
        ValueError: ``message`` has no TaskMessage (it is itself a wrapper).
    """
    if message.task_message is None:
        raise ValueError(f"message {message.activity_id} has no TaskMessage: only a full message goes to a blob")
    instance_id = message.task_message.orchestration_instance.instance_id
    event_type = message.task_message.event.event_type.name
    return f"{instance_id}/{MESSAGE_BLOB_LEAF}{message.activity_id.hex}-{event_type}.json.gz"


def large_message_wrapper(blob_name: str) -> MessageData:
    """The small message queued in place of a large one: only ``CompressedBlobName`` is set."""
    return MessageData(activity_id=UUID(int=0), compressed_blob_name=blob_name)


# --- routing (storage-layout.md §3.3) --------------------------------------------------------------------------

_FNV_OFFSET_BASIS = 2166136261
_FNV_PRIME = 16777619


def fnv1a32(text: str) -> int:
    """The 32-bit FNV-1a hash of ``text``'s UTF-8 bytes, as DurableTask.AzureStorage's ``Fnv1aHashHelper``."""
    value = _FNV_OFFSET_BASIS
    for byte in _utf8_like_dotnet(text):
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


def _utf8_like_dotnet(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # .NET's Encoding.UTF8 writes U+FFFD for an unpaired surrogate instead of failing (fnv1a-vectors.json).
        return dotnet_text(text).encode("utf-8")


def partition_of(instance_id: str, partition_count: int) -> int:
    """The control queue (0-based) that receives the messages of ``instance_id``.

    Raises:
        ValueError: ``partition_count`` is below 1.
    """
    if partition_count < 1:
        raise ValueError(f"partition count {partition_count!r} is invalid: must be at least 1")
    return fnv1a32(instance_id) % partition_count


def app_lease_id(app_name: str) -> str:
    """The app lease id of ``app_name``: its hash as the first group of an otherwise zero GUID (AppLeaseManager)."""
    return f"{fnv1a32(app_name):08x}-0000-0000-0000-000000000000"
