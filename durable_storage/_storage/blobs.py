"""Blob verbs over the async Azure Blob SDK: gzip payloads up and down, list by prefix, delete, leases.

Large messages and large table properties live as gzip blobs in ``{hub}-largemessages``
(storage-layout.md §2.3, §3.4). Downloads are capped so a hostile or corrupt blob cannot exhaust memory. Large
payloads are compressed and inflated in a thread: zlib takes about 10 ms per MiB, time the event loop (and the
lease renewals on it) must not wait.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobLeaseClient, BlobServiceClient

from durable_storage._storage.errors import StorageVerbs, done
from durable_storage.errors import ConflictError, MessageFormatError, ResourceNotFoundError
from durable_storage.retry import OperationKind, StorageRetryPolicy

__all__ = ["MAX_PAYLOAD_BYTES", "Blobs", "VersionedBlob", "is_contained_name"]

MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
"""The largest decompressed payload we accept from a blob (a gzip bomb guard, reliability.md §4.3)."""
_GZIP = ContentSettings(content_type="application/json", content_encoding="gzip")
_JSON = ContentSettings(content_type="application/json")
_OFF_LOOP_BYTES = 64 * 1024
"""Text longer than this is gzipped in a thread (well under a millisecond of zlib stays on the event loop)."""
_INFLATION = 8
"""What JSON typically inflates by: a download over _OFF_LOOP_BYTES / _INFLATION bytes is inflated in a thread."""
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class VersionedBlob:
    """A small blob's bytes (None when larger than the reader's limit) and the ETag they were read at."""

    data: bytes | None
    etag: str


async def _off_loop(large: bool, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)``, in a thread when ``large`` (the hop costs more than a small payload's zlib)."""
    return await asyncio.to_thread(function, *args) if large else function(*args)


def _compress(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=6)


def _decoded(raw: bytes, limit: int, what: str) -> str:
    """The text of a downloaded blob: inflated when it is gzip (.NET may omit the header), checked, decoded."""
    if raw[:2] == b"\x1f\x8b":
        data = _gunzip(raw, limit, what)
    elif len(raw) > limit:
        raise MessageFormatError(f"{what} holds {len(raw)} bytes, more than {limit}, the limit")
    else:
        data = raw
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MessageFormatError(f"{what} is not UTF-8 text: {error.reason} at byte {error.start}") from None


def _gunzip(data: bytes, limit: int, what: str) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as error:
        raise MessageFormatError(f"{what} is not valid gzip: {error}") from None
    if len(out) > limit:
        raise MessageFormatError(f"{what} inflates to more than {limit} bytes, the limit")
    if not inflater.eof:
        # A cut-off stream inflates without complaint to a prefix of the text: refuse it rather than return part.
        raise MessageFormatError(f"{what} is not valid gzip: the stream is truncated")
    return out


def is_contained_name(name: str) -> bool:
    """True when ``name`` is a relative blob name that cannot leave its container once put in a URL.

    HTTP clients resolve ``.`` and ``..`` path segments, so ``../other/x`` would read another container of the
    account with our credential; an absolute URL is not a name at all (reliability.md §4.3).
    """
    segments = name.replace("\\", "/").split("/")
    return bool(name) and "://" not in name and not name.startswith("/") and not {".", ".."} & set(segments)


class Blobs(StorageVerbs):
    """The blob containers of one storage account."""

    def __init__(self, service: BlobServiceClient, retry: StorageRetryPolicy) -> None:
        super().__init__(retry)
        self._service = service

    def container_url(self, container: str) -> str:
        """The URL of ``container`` (no trailing slash), as stored in Instances rows."""
        return f"{self._service.url.rstrip('/')}/{quote(container)}"

    async def create_container(self, container: str) -> None:
        """Create ``container`` if it does not exist."""

        async def create() -> None:
            await self._service.create_container(container)

        # ContainerAlreadyExists is a ConflictError.
        await self._call(OperationKind.IDEMPOTENT, f"container {container}", create, if_exists=None)

    async def delete_container(self, container: str) -> bool:
        """Delete ``container`` with everything in it; False when it did not exist."""

        return await self._call(
            OperationKind.IDEMPOTENT,
            f"container {container}",
            lambda: done(self._service.delete_container(container)),
            if_missing=False,
        )

    async def container_exists(self, container: str) -> bool:
        """True when ``container`` exists."""

        async def exists() -> bool:
            return bool(await self._service.get_container_client(container).exists())

        return await self._call(OperationKind.IDEMPOTENT, f"container {container}", exists)

    async def upload_text(self, container: str, name: str, text: str) -> None:
        """Store ``text`` gzip-compressed as ``container/name``, creating the container on first use.

        Overwrites: blob names carry random or unique parts, so a retry rewrites the same content.
        """
        data = await _off_loop(len(text) > _OFF_LOOP_BYTES, _compress, text)

        async def upload() -> None:
            client = self._service.get_blob_client(container, name)
            await client.upload_blob(data, overwrite=True, content_settings=_GZIP)

        what = f"blob {container}/{name}"
        try:
            await self._call(OperationKind.IDEMPOTENT, what, upload)
        except ResourceNotFoundError:
            # The .NET provider creates the container lazily at the first upload (storage-layout.md §1.1).
            await self.create_container(container)
            await self._call(OperationKind.IDEMPOTENT, what, upload)

    async def download_text(self, container: str, name: str, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> str:
        """The text of the gzip blob ``container/name``.

        Raises:
            ResourceNotFoundError: no such blob.
            MessageFormatError: a name that would leave ``container``; invalid gzip, not UTF-8, or larger than
                ``max_bytes`` once inflated.
        """
        what = f"blob {container}/{name}"
        if not is_contained_name(name):
            raise MessageFormatError(f"blob name {name!r} is invalid: must be a relative name inside {container}")

        async def download() -> bytes:
            # decompress=False: the SDK would otherwise inflate a Content-Encoding: gzip blob in full, past the
            # max_bytes guard below (a gzip bomb).
            stream = await self._service.get_blob_client(container, name).download_blob(decompress=False)
            return await stream.readall()

        raw = await self._call(OperationKind.IDEMPOTENT, what, download)
        return await _off_loop(len(raw) * _INFLATION > _OFF_LOOP_BYTES, _decoded, raw, max_bytes, what)

    async def delete(self, container: str, name: str) -> bool:
        """Delete one blob; False when it did not exist."""

        return await self._call(
            OperationKind.IDEMPOTENT,
            f"blob {container}/{name}",
            lambda: done(self._service.get_blob_client(container, name).delete_blob()),
            if_missing=False,
        )

    async def list_names(self, container: str, *, prefix: str) -> list[str]:
        """Names of the blobs in ``container`` that start with ``prefix`` (empty when the container is missing)."""

        async def list_names() -> list[str]:
            pager = self._service.get_container_client(container).list_blob_names(name_starts_with=prefix)
            return [name async for name in pager]

        return await self._call(OperationKind.IDEMPOTENT, f"container {container}", list_names, if_missing=[])

    async def read_versioned(self, container: str, name: str, *, max_bytes: int) -> VersionedBlob | None:
        """The bytes of ``container/name`` with their ETag, or None when the blob (or its container) is missing.

        A blob larger than ``max_bytes`` is not downloaded: its data is None, and its ETag still lets the caller
        replace it.
        """
        what = f"blob {container}/{name}"

        async def download() -> VersionedBlob | None:
            client = self._service.get_blob_client(container, name)
            try:
                # The first range only: a hostile blob of gigabytes costs us max_bytes + 1 at most.
                stream = await client.download_blob(offset=0, length=max_bytes + 1, decompress=False)
                data, etag = await stream.readall(), str(stream.properties.etag)
            except HttpResponseError as error:
                if error.status_code != 416:
                    raise
                # An empty blob has no range 0-n to give.
                data, etag = b"", str((await client.get_blob_properties()).etag)
            return VersionedBlob(data if len(data) <= max_bytes else None, etag)

        return await self._call(OperationKind.IDEMPOTENT, what, download, if_missing=None)

    async def write_if(self, container: str, name: str, data: bytes, *, etag: str | None) -> str:
        """Store ``data`` as ``container/name`` only if the blob is still at ``etag`` (None: only if it is missing).

        Creates the container on first use. Returns the new ETag.

        Raises:
            ConflictError: another writer changed (or created) the blob first; nothing was written.
        """
        what = f"blob {container}/{name}"
        # If-Match for a replace; for a create, overwrite=False makes the SDK send If-None-Match: *. (The SDK
        # passes an unused etag=None on to the HTTP transport, which refuses it: give the keywords only when set.)
        conditions: dict[str, Any] = {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {}

        async def upload() -> str:
            client = self._service.get_blob_client(container, name)
            result = await client.upload_blob(data, overwrite=etag is not None, content_settings=_JSON, **conditions)
            return str(result["etag"])

        try:
            return await self._call(OperationKind.CONDITIONAL, what, upload)
        except ResourceNotFoundError:
            if etag is not None:
                raise ConflictError(f"{what}: deleted since it was read", resource=what) from None
            await self.create_container(container)
            return await self._call(OperationKind.CONDITIONAL, what, upload)

    async def acquire_lease(self, container: str, name: str | None, *, lease_id: str, duration: int) -> None:
        """Take a lease with our ``lease_id`` on a blob, or on the container itself when ``name`` is None.

        ``duration`` is 15-60 seconds or -1 (infinite). Raises ConflictError when another lease is held.
        """
        await self._lease(container, name, lease_id).acquire(duration)

    async def renew_lease(self, container: str, name: str | None, *, lease_id: str) -> None:
        """Renew our lease; ConflictError when it was lost to someone else."""
        await self._lease(container, name, lease_id).renew()

    async def release_lease(self, container: str, name: str | None, *, lease_id: str) -> None:
        """Release our lease so that others may take it at once."""
        await self._lease(container, name, lease_id).release()

    def _lease(self, container: str, name: str | None, lease_id: str) -> _Lease:
        target = (
            self._service.get_container_client(container)
            if name is None
            else self._service.get_blob_client(container, name)
        )
        what = f"container {container}" if name is None else f"blob {container}/{name}"
        return _Lease(BlobLeaseClient(target, lease_id=lease_id), what, self._retry)


class _Lease(StorageVerbs):
    def __init__(self, client: BlobLeaseClient, what: str, retry: StorageRetryPolicy) -> None:
        super().__init__(retry)
        self._client = client
        self._what = what

    async def acquire(self, duration: int) -> None:
        # Acquiring again with the same lease id succeeds, so a resend after a lost response is safe.
        await self._call(OperationKind.IDEMPOTENT, self._what, lambda: self._client.acquire(lease_duration=duration))

    async def renew(self) -> None:
        await self._call(OperationKind.IDEMPOTENT, self._what, self._client.renew)

    async def release(self) -> None:
        await self._call(OperationKind.CONDITIONAL, self._what, self._client.release)
