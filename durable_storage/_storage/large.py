"""Large table properties: values over 60 KiB (as UTF-16) live in gzip blobs (storage-layout.md §2.3).

History rows keep the blob *name* in a ``{Property}BlobName`` column; Instances rows keep the blob *URL* in the
column itself. Both forms are .NET's compatibility contract. Reads follow only references into our own
``{hub}-largemessages`` container (reliability.md §4.3): a stored URL elsewhere is returned as plain text.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from durable_storage._envelope import decode_message
from durable_storage._names import HISTORY_BLOB_LEAF, blob_ownership, blob_url, instance_blob_prefixes
from durable_storage._storage.blobs import MAX_PAYLOAD_BYTES, Blobs, is_contained_name
from durable_storage._storage.codec import LARGE_PROPERTY_COLUMNS
from durable_storage.errors import MessageFormatError, ResourceNotFoundError

__all__ = ["BLOB_NAME_SUFFIX", "MAX_PROPERTY_BYTES", "OFFLOAD_COLUMNS", "URL_COLUMNS", "LargeProperties", "utf16_size"]

MAX_PROPERTY_BYTES = 60 * 1024
"""Offload threshold, counted as UTF-16 bytes like .NET's ``Encoding.Unicode`` (Azure allows 64 KiB)."""
BLOB_NAME_SUFFIX = "BlobName"
URL_COLUMNS = ("Input", "Output")
"""Instances columns that hold a blob URL when offloaded."""
OFFLOAD_COLUMNS = LARGE_PROPERTY_COLUMNS
"""The columns .NET considers for offload (ATS ``CompressLargeMessageAsync``)."""


def utf16_size(text: str) -> int:
    """Bytes of ``text`` in UTF-16: 2 per BMP character, 4 per character outside it (a surrogate pair)."""
    # The codec counts in C; a per-character loop took 0.5-0.9 s on the event loop for a 10 MiB payload.
    return len(text.encode("utf-16-le", "surrogatepass"))


def _is_large(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    # Every character takes 2 or 4 bytes: decide from the length alone where it can, count only in between.
    if len(value) * 2 > MAX_PROPERTY_BYTES:
        return True
    return len(value) * 4 > MAX_PROPERTY_BYTES and utf16_size(value) > MAX_PROPERTY_BYTES


class LargeProperties:
    """Offloads and restores large columns of one task hub's rows."""

    def __init__(self, blobs: Blobs, container: str) -> None:
        self._blobs = blobs
        self.container = container
        self._url_prefix = blobs.container_url(container) + "/"

    def blob_name(self, escaped_id: str, row_key: str, event_type: str, column: str) -> str:
        """``{escapedId}/history-{RowKey}-{EventType}-{random:X8}-{Column}.json.gz``.

        The random part keeps two split-brain writers from overwriting each other's blob (durabletask#890).
        """
        return f"{escaped_id}/{HISTORY_BLOB_LEAF}{row_key}-{event_type}-{secrets.randbits(32):08X}-{column}.json.gz"

    async def offload_history(self, values: dict[str, Any], *, escaped_id: str, row_key: str) -> dict[str, Any]:
        """A copy of a History row's columns with every large column moved to a blob (name in ``*BlobName``)."""
        result = dict(values)
        for column in OFFLOAD_COLUMNS:
            if _is_large(result.get(column)):
                name = self.blob_name(escaped_id, row_key, str(result.get("EventType", "")), column)
                await self._blobs.upload_text(self.container, name, result[column])
                result[column] = ""
                result[column + BLOB_NAME_SUFFIX] = name
        return result

    async def offload_instance(self, values: dict[str, Any], *, escaped_id: str) -> dict[str, Any]:
        """A copy of an Instances row's columns with large ones moved to blobs.

        Input and Output hold the blob URL, which .NET status readers follow (storage-layout.md §2.2): any other column
        (Tags) is emptied with a ``{Column}BlobName`` beside it, as .NET's create does, so that a reader that does not
        fetch payloads sees no value rather than a URL where JSON belongs. Rows without an EventType use the
        column name in its place and an empty RowKey part (storage-layout.md §2.3).
        """
        result = dict(values)
        for column in OFFLOAD_COLUMNS:
            if _is_large(result.get(column)):
                name = self.blob_name(escaped_id, "", column, column)
                await self._blobs.upload_text(self.container, name, result[column])
                if column in URL_COLUMNS:
                    result[column] = self.url(name)
                else:
                    result[column] = ""
                    result[column + BLOB_NAME_SUFFIX] = name
        return result

    async def blob_names_of(self, instance_id: str) -> list[str]:
        """The names of every payload blob of ``instance_id``: its message blobs and its history blobs.

        Listed by prefix, then kept only when the name belongs to this instance: the two naming schemes overlap
        (``pq/`` holds ``pq/child``'s message blobs, ``pv^0b/`` the history blobs of ``pv/b``). Where the name
        cannot tell (a message blob of an ID with a ``/``), the message inside is read and its instance ID decides.
        """
        listed = await asyncio.gather(
            *(self._blobs.list_names(self.container, prefix=p) for p in instance_blob_prefixes(instance_id))
        )
        names = sorted({name for names in listed for name in names})
        owned = await asyncio.gather(*(self._owns(name, instance_id) for name in names))
        return [name for name, mine in zip(names, owned, strict=True) if mine]

    async def _owns(self, blob_name: str, instance_id: str) -> bool:
        by_name = blob_ownership(blob_name, instance_id)
        if by_name is not None:
            return by_name
        try:
            message = decode_message(await self.download(blob_name), max_chars=MAX_PAYLOAD_BYTES)
        except (ResourceNotFoundError, MessageFormatError):
            return False  # gone meanwhile, or nobody's we can tell: never delete what may be another instance's
        task = message.task_message
        return task is not None and task.orchestration_instance.instance_id == instance_id

    async def delete_blobs(self, names: Iterable[str]) -> int:
        """Delete the blobs ``names``; returns how many existed."""
        return sum(await asyncio.gather(*(self._blobs.delete(self.container, name) for name in names)))

    def url(self, blob_name: str) -> str:
        """The full URL of a blob of ours, each path segment escaped and ``/`` kept (``MessageManager.GetBlobUrl``)."""
        return blob_url(self._url_prefix.rstrip("/"), blob_name)

    def blob_name_of_url(self, value: Any) -> str | None:
        """The blob name when ``value`` is a URL into our container, else None (it is then ordinary data)."""
        if not isinstance(value, str) or not value.startswith(self._url_prefix):
            return None
        name = unquote(value[len(self._url_prefix) :])
        # ".../largemessages/../other/x" starts like ours but points at another container.
        return name if is_contained_name(name) else None

    async def restore_history(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """A History row's columns with offloaded ones read back, and the blob names it referenced."""
        result = dict(values)
        names: list[str] = []
        for key in [k for k in values if k.endswith(BLOB_NAME_SUFFIX)]:
            name = values[key]
            del result[key]
            if isinstance(name, str) and name:
                result[key[: -len(BLOB_NAME_SUFFIX)]] = await self._blobs.download_text(self.container, name)
                names.append(name)
        return result, names

    def instance_blobs(self, values: Mapping[str, Any]) -> dict[str, str]:
        """The blob name of each offloaded column of an Instances row, by column.

        A create-time ``{Column}BlobName`` wins over a URL in the column: the row keeps it until it is replaced.
        """
        found = {column: name for column in URL_COLUMNS if (name := self.blob_name_of_url(values.get(column)))}
        for key, name in values.items():
            if key.endswith(BLOB_NAME_SUFFIX) and isinstance(name, str) and name:
                found[key[: -len(BLOB_NAME_SUFFIX)]] = name
        return found

    async def download(self, blob_name: str) -> str:
        """The text of one of our blobs (ResourceNotFoundError when it is gone, MessageFormatError when unreadable)."""
        return await self._blobs.download_text(self.container, blob_name)
