"""Task hub resource names, name validation and instance ID → table key escaping; pure.

Every name here must match the .NET provider byte for byte, or .NET tools (and a .NET worker sharing the hub)
would not find our queues, tables and rows (storage-layout.md §1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from durable_storage.errors import ConfigurationError, InvalidNameError

__all__ = [
    "DEFAULT_PARTITION_COUNT",
    "DEFAULT_TASK_HUB",
    "HISTORY_BLOB_LEAF",
    "MAX_KEY_BYTES",
    "MAX_PARTITIONS",
    "MESSAGE_BLOB_LEAF",
    "TaskHubNames",
    "blob_ownership",
    "blob_url",
    "escape_key",
    "instance_blob_prefixes",
    "unescape_key",
    "validate_instance_id",
    "validate_orchestration_id",
    "validate_partition_count",
    "validate_task_hub_name",
]

DEFAULT_TASK_HUB = "TestHubName"
"""The task hub Durable Functions uses when none is configured."""
DEFAULT_PARTITION_COUNT = 4
"""The partition count of a hub created without one (Durable Functions' default)."""

MAX_PARTITIONS = 16
"""The largest partition count the provider accepts (AOS ``ValidateSettings``)."""

MAX_KEY_BYTES = 1024
"""Azure's limit on a PartitionKey or RowKey: 1 KiB, counted here as UTF-16 bytes (2 per code unit)."""

# ASCII only: `str.isalnum` would accept 'é' or '٣', which Azure rejects in table names (reliability.md §4.4).
_HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")

_ESCAPE = "^"
# Entity instance IDs are '@name@key'; the worker routes every ID starting with '@' to the entity path.
_ENTITY_MARK = "@"
# KeySanitation.cs: the four characters Azure forbids in keys, plus the escape character itself.
_ESCAPES = {"^": "^^", "/": "^0", "\\": "^1", "#": "^2", "?": "^3"}
_UNESCAPES = {"^": "^", "0": "/", "1": "\\", "2": "#", "3": "?"}
# Control characters are stored as '^' + chr(0xC0 + code), 0xC0 being 'À' (storage-layout.md §1.3).
_CONTROL_OFFSET = 0xC0
_SURROGATES = range(0xD800, 0xE000)


def _is_control(char: str) -> bool:
    code = ord(char)
    return code <= 0x1F or 0x7F <= code <= 0x9F


def _shorten(value: str, limit: int = 40) -> str:
    """``repr`` of a possibly long value, cut to ``limit`` characters so errors stay readable."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "..."


def validate_task_hub_name(name: object) -> str:
    """Check a task hub name against the Durable Functions rule (reliability.md §4.4).

    Args:
        name: the proposed task hub name.

    Returns:
        The name, unchanged.

    Raises:
        InvalidNameError: the name is not 3-45 ASCII letters or digits starting with a letter. Hyphens are
            refused because table names cannot contain them.
    """
    if not isinstance(name, str) or _HUB_NAME.fullmatch(name) is None:
        raise InvalidNameError(
            f"task hub name {name!r} is invalid: must be 3-45 letters or digits, starting with a letter"
        )
    return name


def validate_partition_count(count: object) -> int:
    """Check a partition count: an ``int`` from 1 to 16 (storage-layout.md §1.2).

    Args:
        count: the proposed number of partitions (control queues).

    Returns:
        The count, unchanged.

    Raises:
        ConfigurationError: ``count`` is not an int (``bool`` included) or is outside 1-16.
    """
    # bool is an int subclass; `partition_count=True` is always a mistake.
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PARTITIONS:
        raise ConfigurationError(f"partition count {count!r} is invalid: must be an integer from 1 to {MAX_PARTITIONS}")
    return count


@dataclass(frozen=True, slots=True)
class TaskHubNames:
    """Every resource name of one task hub, exactly as the .NET provider names them (storage-layout.md §1.1).

    Queues and containers use the lowercased hub name; tables keep its case.

    Args:
        hub: the task hub name (3-45 letters or digits, starting with a letter).
        partition_count: the number of partitions, hence control queues (1-16).

    Raises:
        InvalidNameError: the hub name breaks the naming rule.
        ConfigurationError: the partition count is out of range.
    """

    hub: str
    partition_count: int = 4

    def __post_init__(self) -> None:
        validate_task_hub_name(self.hub)
        validate_partition_count(self.partition_count)

    @property
    def _prefix(self) -> str:
        return self.hub.lower()

    def control_queue(self, index: int) -> str:
        """The control queue of partition ``index``: ``{hub}-control-NN`` with ``NN`` zero-padded to 2 digits.

        Raises:
            IndexError: ``index`` is not a partition of this hub.
        """
        if isinstance(index, bool) or not 0 <= index < self.partition_count:
            raise IndexError(
                f"partition index {index!r} is out of range: must be 0-{self.partition_count - 1} "
                f"for a hub of {self.partition_count} partitions"
            )
        return f"{self._prefix}-control-{index:02d}"

    @property
    def control_queues(self) -> tuple[str, ...]:
        """The control queues of every partition, in partition order."""
        return tuple(self.control_queue(i) for i in range(self.partition_count))

    @property
    def work_item_queue(self) -> str:
        """The activity queue, ``{hub}-workitems``."""
        return f"{self._prefix}-workitems"

    @property
    def history_table(self) -> str:
        """The History table, ``{Hub}History`` (case kept)."""
        return f"{self.hub}History"

    @property
    def instances_table(self) -> str:
        """The Instances table, ``{Hub}Instances`` (case kept)."""
        return f"{self.hub}Instances"

    @property
    def partitions_table(self) -> str:
        """The Partitions table of the V3 partition manager, ``{Hub}Partitions`` (case kept)."""
        return f"{self.hub}Partitions"

    @property
    def quarantine_table(self) -> str:
        """Our quarantine of unprocessable messages, ``{Hub}Quarantine`` (created at the first one; not .NET's)."""
        return f"{self.hub}Quarantine"

    @property
    def large_messages_container(self) -> str:
        """The blob container of large messages and large table properties, ``{hub}-largemessages``."""
        return f"{self._prefix}-largemessages"

    @property
    def app_lease_container(self) -> str:
        """The app-lease container, ``{hub}-applease`` (named so ``delete`` can remove it; we take no app lease)."""
        return f"{self._prefix}-applease"

    @property
    def lease_container(self) -> str:
        """The blob-lease container of the V1/V2 partition managers, ``{hub}-leases`` (removed by ``delete``)."""
        return f"{self._prefix}-leases"

    @property
    def dotnet_only_containers(self) -> tuple[str, ...]:
        """The containers only the .NET provider's blob lease managers use; this provider never creates them."""
        return (self.lease_container, self.app_lease_container)

    @property
    def tables(self) -> tuple[str, ...]:
        """History, Instances and Partitions tables."""
        return (self.history_table, self.instances_table, self.partitions_table)

    @property
    def containers(self) -> tuple[str, ...]:
        """Every blob container a hub of this name may have: large messages, leases, app lease."""
        return (self.large_messages_container, self.lease_container, self.app_lease_container)


def escape_key(instance_id: str) -> str:
    """The table key of an instance ID, escaped as ``KeySanitation.EscapePartitionKey`` does (storage-layout.md §1.3).

    ``^`` becomes ``^^``; ``/ \\ # ?`` become ``^0 ^1 ^2 ^3``; a control character (U+0000-U+001F,
    U+007F-U+009F) becomes ``^`` + ``chr(0xC0 + code)``; everything else is copied.

    Args:
        instance_id: the raw instance ID, as queue messages carry it.

    Returns:
        The escaped ID, as History and Instances PartitionKeys and history blob names carry it.
    """
    parts: list[str] = []
    for char in instance_id:
        if char in _ESCAPES:
            parts.append(_ESCAPES[char])
        elif _is_control(char):
            parts.append(_ESCAPE + chr(_CONTROL_OFFSET + ord(char)))
        else:
            parts.append(char)
    return "".join(parts)


def unescape_key(key: str) -> str:
    """The instance ID of an escaped table key: the inverse of :func:`escape_key` (``UnescapePartitionKey``).

    After ``^``: ``^ 0 1 2 3`` map back; any other character from U+00C0 is shifted down by 0xC0; any other
    character below U+00C0 is kept (the escaper never writes those, .NET accepts them).

    Args:
        key: a PartitionKey read from a History or Instances table.

    Returns:
        The raw instance ID.

    Raises:
        InvalidNameError: the key ends in a lone ``^`` (.NET fails with ``IndexOutOfRangeException``), or a
            ``^`` precedes a character that .NET would shift into half a surrogate pair.
    """
    chars: list[str] = []
    pending_escape = False
    for char in key:
        if not pending_escape and char == _ESCAPE:
            pending_escape = True
            continue
        chars.append(_unescape_one(key, char) if pending_escape else char)
        pending_escape = False
    if pending_escape:
        raise InvalidNameError(
            f"table key {_shorten(key)} is invalid: ends in a lone '^', which must be followed by an escaped character"
        )
    return "".join(chars)


def _unescape_one(key: str, char: str) -> str:
    if char in _UNESCAPES:
        return _UNESCAPES[char]
    code = ord(char)
    if code < _CONTROL_OFFSET:
        return char
    # .NET shifts UTF-16 code units: a non-BMP character (two units) or a result in the surrogate block has no
    # valid Python equivalent. The escaper never writes either, so such a key was not written by a provider.
    if code > 0xFFFF or code - _CONTROL_OFFSET in _SURROGATES:
        raise InvalidNameError(
            f"table key {_shorten(key)} is invalid: '^' followed by U+{code:04X} does not unescape to a character"
        )
    return chr(code - _CONTROL_OFFSET)


def validate_instance_id(instance_id: object) -> None:
    """Check that an instance ID can be stored: any text DTFx can store, nothing more (reliability.md §4.4).

    Forbidden key characters are not rejected; :func:`escape_key` escapes them as .NET does.

    Args:
        instance_id: the proposed instance ID.

    Raises:
        InvalidNameError: the ID is not a ``str``, is empty, contains a lone surrogate (it cannot be encoded
            for storage), or its escaped form exceeds 1 KiB counted as UTF-16 bytes, the way the Table service
            stores strings.
    """
    if not isinstance(instance_id, str):
        raise InvalidNameError(f"instance ID {instance_id!r} is invalid: must be a str")
    if not instance_id:
        raise InvalidNameError("instance ID '' is invalid: must not be empty")
    if any(ord(char) in _SURROGATES for char in instance_id):
        raise InvalidNameError(
            f"instance ID {_shorten(instance_id)} is invalid: must not contain lone surrogates (U+D800-U+DFFF)"
        )
    size = len(escape_key(instance_id).encode("utf-16-le"))
    if size > MAX_KEY_BYTES:
        raise InvalidNameError(
            f"instance ID {_shorten(instance_id)} is invalid: its table key is {size} bytes in UTF-16, "
            f"must be at most {MAX_KEY_BYTES} (1 KiB) after escaping"
        )


# The leaf (last segment) of each kind of payload blob name in {hub}-largemessages (storage-layout.md §2.3, §3.4).
MESSAGE_BLOB_LEAF = "message-"
HISTORY_BLOB_LEAF = "history-"


def _as_stored(name: str) -> str:
    # The blob service stores a backslash as '/' (Azure and Azurite): the message blob of "a\\b" is listed as "a/b/...".
    return name.replace("\\", "/")


def instance_blob_prefixes(instance_id: str) -> tuple[str, ...]:
    """The name prefixes under which the payload blobs of ``instance_id`` are listed: two when escaping changes the ID.

    Message blobs are named by the raw ID, history blobs by the escaped one (storage-layout.md §1.3). A prefix also
    covers other instances' blobs (``pq/`` covers ``pq/child``'s, and ``pv^0b/`` covers the history blobs of ``pv/b``):
    filter what it lists with :func:`blob_ownership`.
    """
    return tuple(sorted({f"{_as_stored(instance_id)}/", f"{escape_key(instance_id)}/"}))


def blob_ownership(name: str, instance_id: str) -> bool | None:
    """Whether the payload blob ``name``, as listed, belongs to ``instance_id``: None when only its content can tell.

    The leaf after the last ``/`` is generated (``message-...`` or ``history-...``) and never holds a ``/``, so
    what precedes it is the owner: the escaped ID of a history blob, which is exact (escaping is one-to-one and
    leaves no ``/`` or ``\\``); the raw ID of a message blob, exact too unless it holds a ``/``, which the
    service may have turned from a ``\\`` (``a/b`` and ``a\\b`` name their message blobs alike): None, then,
    and the message's own instance ID decides. A name of another shape is nobody's, so it is never deleted.
    """
    owner, separator, leaf = name.rpartition("/")
    if not separator:
        return False
    if leaf.startswith(HISTORY_BLOB_LEAF):
        return owner == escape_key(instance_id)
    if not leaf.startswith(MESSAGE_BLOB_LEAF) or owner != _as_stored(instance_id):
        return False
    return None if "/" in owner else True


def validate_orchestration_id(instance_id: object) -> None:
    """Check an orchestration's instance ID: a storable ID (:func:`validate_instance_id`) outside the entity space.

    The worker takes every instance whose ID starts with ``@`` for an entity (``@name@key``, as .NET does), so an
    orchestration started under such an ID would never run and would break the entity listings.

    Raises:
        InvalidNameError: the ID cannot be stored, or starts with ``@``.
    """
    validate_instance_id(instance_id)
    assert isinstance(instance_id, str)
    if instance_id.startswith(_ENTITY_MARK):
        raise InvalidNameError(
            f"orchestration instance ID {_shorten(instance_id)} is invalid: must not start with '@', which is "
            "reserved for entity IDs ('@name@key')"
        )


def blob_url(container_url: str, blob_name: str) -> str:
    """The URL of a blob, escaped as ``MessageManager.GetBlobUrl`` escapes it (naming-vectors.json).

    Each ``/``-separated segment of the name is percent-escaped like .NET ``Uri.EscapeDataString`` (UTF-8,
    RFC 3986 unreserved characters kept) and the ``/`` separators are kept. The container URL is not escaped;
    a trailing ``/`` on it is dropped.

    Args:
        container_url: the container's URL, e.g. ``http://127.0.0.1:10000/devstoreaccount1/myhub-largemessages``.
        blob_name: the blob name, e.g. ``abc/history-0000000000000001-Input.json.gz``.

    Returns:
        ``container_url + "/" + escaped name``.

    Raises:
        InvalidNameError: the blob name is empty or contains a lone surrogate.
    """
    if not blob_name:
        raise InvalidNameError("blob name '' is invalid: must not be empty")
    try:
        # quote(safe="") keeps exactly A-Z a-z 0-9 - . _ ~, the unreserved set EscapeDataString keeps.
        escaped = "/".join(quote(segment, safe="") for segment in blob_name.split("/"))
    except UnicodeEncodeError:
        raise InvalidNameError(
            f"blob name {_shorten(blob_name)} is invalid: must not contain lone surrogates (U+D800-U+DFFF)"
        ) from None
    return f"{container_url.rstrip('/')}/{escaped}"
