"""Blob verbs against a real Azurite: gzip text in and out, the inflation cap, listing, deletes, leases."""

from __future__ import annotations

import gzip
import hashlib
import threading
import uuid
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobServiceClient

from durable_storage._storage import blobs
from durable_storage._storage.blobs import MAX_PAYLOAD_BYTES
from durable_storage.errors import ConflictError, MessageFormatError, ResourceNotFoundError
from durable_storage.taskhub import TaskHub

TEXT = '{"greeting":"héllo, 日本, 😀","n":1}'
MIB = 1024 * 1024
NOISE = "".join(hashlib.sha256(bytes([i])).hexdigest() for i in range(64))  # text that gzip barely shrinks


@pytest.fixture
def container(hub: TaskHub) -> str:
    return hub.names.large_messages_container


@pytest.fixture
async def raw(connection_string: str) -> AsyncIterator[BlobServiceClient]:
    """The SDK itself, to store and inspect blobs exactly as another writer would."""
    async with BlobServiceClient.from_connection_string(connection_string) as service:
        yield service


def gzip_of_zeros(size: int) -> bytes:
    """A gzip bomb: ``size`` zero bytes, which compress about a thousandfold."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(MIB)
    return b"".join(packer.compress(chunk) for _ in range(size // MIB)) + packer.flush()


async def test_text_round_trips_through_a_gzip_blob(hub: TaskHub, container: str, raw: BlobServiceClient) -> None:
    await hub.account.blobs.upload_text(container, "abc/message.json.gz", TEXT)

    assert await hub.account.blobs.download_text(container, "abc/message.json.gz") == TEXT
    stored = await raw.get_blob_client(container, "abc/message.json.gz").download_blob(decompress=False)
    assert gzip.decompress(await stored.readall()) == TEXT.encode("utf-8")
    assert stored.properties.content_settings.content_encoding == "gzip"


async def test_a_large_payload_is_gzipped_and_inflated_off_the_event_loop(
    hub: TaskHub, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran_on: list[tuple[str, bool]] = []
    for step in ("_compress", "_decoded"):
        original = getattr(blobs, step)

        def spy(*args: Any, _step: str = step, _original: Any = original) -> Any:
            ran_on.append((_step, threading.current_thread() is threading.main_thread()))
            return _original(*args)

        monkeypatch.setattr(blobs, step, spy)
    large = NOISE * (MIB // len(NOISE))  # 1 MiB that gzip barely shrinks: about 10 ms of zlib each way
    await hub.account.blobs.upload_text(container, "large.json.gz", large)
    assert await hub.account.blobs.download_text(container, "large.json.gz") == large
    await hub.account.blobs.upload_text(container, "small.json.gz", TEXT)
    assert await hub.account.blobs.download_text(container, "small.json.gz") == TEXT
    # In a thread for the large payload; on the loop for the small one, where a thread hop would cost more.
    assert ran_on == [("_compress", False), ("_decoded", False), ("_compress", True), ("_decoded", True)]


async def test_a_blob_that_is_not_gzip_is_read_as_plain_utf8(
    hub: TaskHub, container: str, raw: BlobServiceClient
) -> None:
    await raw.get_blob_client(container, "plain.json").upload_blob(TEXT.encode("utf-8"))

    assert await hub.account.blobs.download_text(container, "plain.json") == TEXT


async def test_a_gzip_bomb_is_refused_before_it_is_inflated_in_full(
    hub: TaskHub, container: str, raw: BlobServiceClient
) -> None:
    bomb = gzip_of_zeros(100 * MIB)
    assert len(bomb) < MIB
    await raw.get_blob_client(container, "bomb.json.gz").upload_blob(bomb)

    with pytest.raises(MessageFormatError, match=f"inflates to more than {MIB} bytes, the limit"):
        await hub.account.blobs.download_text(container, "bomb.json.gz", max_bytes=MIB)
    with pytest.raises(MessageFormatError, match=f"inflates to more than {MAX_PAYLOAD_BYTES} bytes"):
        await hub.account.blobs.download_text(container, "bomb.json.gz")


async def test_a_gzip_bomb_labelled_content_encoding_gzip_is_refused_too(
    hub: TaskHub, container: str, raw: BlobServiceClient
) -> None:
    # The SDK inflates such blobs by itself unless told not to: the cap must see the compressed bytes.
    labelled = ContentSettings(content_type="application/json", content_encoding="gzip")
    await raw.get_blob_client(container, "bomb.json.gz").upload_blob(
        gzip_of_zeros(100 * MIB), content_settings=labelled
    )

    with pytest.raises(MessageFormatError, match="inflates to more than"):
        await hub.account.blobs.download_text(container, "bomb.json.gz", max_bytes=MIB)


async def test_max_bytes_is_the_largest_text_accepted(hub: TaskHub, container: str, raw: BlobServiceClient) -> None:
    blobs = hub.account.blobs
    await blobs.upload_text(container, "exact", "x" * 1000)
    await blobs.upload_text(container, "over", "x" * 1001)
    await raw.get_blob_client(container, "plain-over").upload_blob(b"x" * 1001)

    assert await blobs.download_text(container, "exact", max_bytes=1000) == "x" * 1000
    with pytest.raises(MessageFormatError, match="more than 1000 bytes"):
        await blobs.download_text(container, "over", max_bytes=1000)
    with pytest.raises(MessageFormatError, match="1001 bytes, more than 1000"):
        await blobs.download_text(container, "plain-over", max_bytes=1000)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (gzip.compress(NOISE.encode("ascii"))[: len(NOISE) // 2], "truncated"),
        (b"\x1f\x8b" + b"not deflate at all", "not valid gzip"),
        (gzip.compress(b"\xff\xfe invalid utf-8"), "not UTF-8"),
    ],
    ids=["truncated gzip", "gzip magic then garbage", "gzip of bytes that are not UTF-8"],
)
async def test_a_corrupt_blob_is_a_message_format_error_never_partial_text(
    hub: TaskHub, container: str, raw: BlobServiceClient, content: bytes, reason: str
) -> None:
    await raw.get_blob_client(container, "corrupt.json.gz").upload_blob(content)

    with pytest.raises(MessageFormatError, match=reason):
        await hub.account.blobs.download_text(container, "corrupt.json.gz")


@pytest.mark.parametrize("name", ["../other/x.json.gz", "a/../../other/x", "./x", "/x", "https://evil.example/x"])
async def test_a_name_that_would_leave_the_container_is_never_downloaded(
    hub: TaskHub, container: str, name: str
) -> None:
    with pytest.raises(MessageFormatError, match="must be a relative name inside"):
        await hub.account.blobs.download_text(container, name)


async def test_downloading_a_missing_blob_is_not_found(hub: TaskHub, container: str) -> None:
    with pytest.raises(ResourceNotFoundError):
        await hub.account.blobs.download_text(container, "nobody/here.json.gz")


async def test_list_names_lists_exactly_the_names_under_the_prefix(hub: TaskHub, container: str) -> None:
    blobs = hub.account.blobs
    names = ["inst-a/1", "inst-a/2", "inst-a/sub/3", "inst-ab/1", "other/inst-a/1", "inst-A/1"]
    for name in names:
        await blobs.upload_text(container, name, name)

    assert sorted(await blobs.list_names(container, prefix="inst-a/")) == ["inst-a/1", "inst-a/2", "inst-a/sub/3"]
    assert await blobs.delete(container, "inst-a/1") is True
    assert await blobs.delete(container, "inst-a/1") is False
    assert sorted(await blobs.list_names(container, prefix="inst-a/")) == ["inst-a/2", "inst-a/sub/3"]


async def test_list_names_in_a_missing_container_is_empty(hub: TaskHub) -> None:
    assert await hub.account.blobs.list_names(hub.names.lease_container, prefix="x/") == []


async def test_the_container_is_created_on_the_first_upload(hub: TaskHub) -> None:
    # The lease container is one of the hub's (so delete() removes it) that creation does not make.
    blobs, container = hub.account.blobs, hub.names.lease_container
    assert not await blobs.container_exists(container)

    await blobs.upload_text(container, "first/blob.json.gz", TEXT)

    assert await blobs.container_exists(container)
    assert await blobs.download_text(container, "first/blob.json.gz") == TEXT


@pytest.fixture(params=["blob", "container"])
async def lease_target(request: pytest.FixtureRequest, hub: TaskHub, container: str) -> str | None:
    """A blob name, or None for a lease on the container itself (as the app lease takes)."""
    if request.param == "container":
        return None
    await hub.account.blobs.upload_text(container, "leases/partition-00", "{}")
    return "leases/partition-00"


async def test_a_lease_is_held_by_one_lease_id_at_a_time(
    hub: TaskHub, container: str, lease_target: str | None
) -> None:
    blobs = hub.account.blobs
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())

    await blobs.acquire_lease(container, lease_target, lease_id=ours, duration=15)
    with pytest.raises(ConflictError) as caught:
        await blobs.acquire_lease(container, lease_target, lease_id=theirs, duration=15)
    assert caught.value.status == 409

    await blobs.acquire_lease(container, lease_target, lease_id=ours, duration=15)  # a resend is harmless
    await blobs.renew_lease(container, lease_target, lease_id=ours)
    with pytest.raises(ConflictError):
        await blobs.renew_lease(container, lease_target, lease_id=theirs)

    await blobs.release_lease(container, lease_target, lease_id=ours)
    await blobs.acquire_lease(container, lease_target, lease_id=theirs, duration=15)
    with pytest.raises(ConflictError):
        await blobs.acquire_lease(container, lease_target, lease_id=ours, duration=15)
    await blobs.release_lease(container, lease_target, lease_id=theirs)  # so the hub can be deleted
