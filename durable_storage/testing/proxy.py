"""A TCP proxy for network-fault tests (reliability.md §5.1, T07/T08): cut a worker off from storage on purpose.

:class:`TcpProxy` listens on a free loopback port and forwards every connection to a loopback target. The test
that owns it switches its :class:`ProxyMode` at any time, and the switch also applies to connections already open:

- ``PASS``: forward both ways.
- ``BLACKHOLE``: accept and read, but forward nothing and answer nothing, so clients wait until their own
  timeouts. Open connections stall the same way (their target side is closed: the service never hears again).
- ``RESET``: refuse service: new connections and open ones are reset at once (TCP RST).
- ``LATENCY``: forward both ways, each chunk delayed by ``latency_ms``.

Leaving ``BLACKHOLE`` resets the stalled connections: the bytes they sent were dropped, so they cannot resume (a
middlebox that lost their state answers the next packet with RST). :class:`StorageProxies` puts one proxy in front
of each service of an Azurite account and hands out the connection string that goes through them::

    async with StorageProxies(azurite.connection_string) as proxies:
        ...  # give proxies.connection_string to the worker to cut off
        proxies.set_mode(ProxyMode.BLACKHOLE)
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import socket
import struct
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from durable_storage._closing import AsyncClosing
from durable_storage._connection import parse_connection_string
from durable_storage.testing.azurite import connection_string_for

__all__ = ["Exchange", "ProxyMode", "ProxyStats", "StorageProxies", "TcpProxy"]

_CHUNK = 64 * 1024
_LOOPBACK = "127.0.0.1"
_METHODS = frozenset({b"GET", b"HEAD", b"POST", b"PUT", b"PATCH", b"MERGE", b"DELETE", b"OPTIONS"})


class ProxyMode(enum.Enum):
    """What a :class:`TcpProxy` does with the bytes it gets."""

    PASS = "pass"  # noqa: S105 - a mode, not a password
    BLACKHOLE = "blackhole"
    RESET = "reset"
    LATENCY = "latency"


@dataclass
class Exchange:
    """One HTTP request forwarded to the target, and the status of its answer (None while there is none)."""

    at: float  # time.time() when the request went through
    request: str  # its request line, e.g. "GET /devstoreaccount1/q/messages?numofmessages=32 HTTP/1.1"
    status: int | None = None


@dataclass
class ProxyStats:
    """What one proxy saw since it started; ``refused``: connections whose target could not be reached.

    ``exchanges`` lists the HTTP/1.1 requests forwarded, in order (one at a time per connection, as HTTP clients
    without pipelining send them).
    """

    connections: int = 0
    refused: int = 0
    bytes_to_target: int = 0
    bytes_to_client: int = 0
    exchanges: list[Exchange] = field(default_factory=list)


@dataclass(eq=False)
class _Link:
    """One client connection and, unless it was black-holed from the start, its connection to the target."""

    client: asyncio.StreamWriter
    target: asyncio.StreamWriter | None = None
    stalled: bool = False
    back: asyncio.Task[None] | None = None  # the target-to-client pump, kept referenced while it runs
    pending: Exchange | None = None  # the request forwarded last, until its answer comes back

    def stall(self) -> None:
        self.stalled = True
        if self.target is not None:
            self.target.transport.abort()

    def reset(self) -> None:
        for writer in (self.client, self.target):
            if writer is None:
                continue
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):  # SO_LINGER 0: closing sends RST, not FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()


def _require_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"proxy target host {host!r} is invalid: must be a loopback address (tests only)")


class TcpProxy(AsyncClosing):
    """Forwards ``127.0.0.1:<port>`` to ``target_host:target_port`` (both on loopback); see the module docstring.

    Args:
        target_port: the port to forward to.
        target_host: a loopback address.
        port: the port to listen on; 0 (the default) picks a free one, read it from :attr:`port` after start.
    """

    def __init__(self, target_port: int, *, target_host: str = _LOOPBACK, port: int = 0) -> None:
        _require_loopback(target_host)
        self.target = (target_host, target_port)
        self.port = port
        self.mode = ProxyMode.PASS
        self.latency = 0.0  # seconds per chunk, in LATENCY mode
        self.stats = ProxyStats()
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None

    def set_mode(self, mode: ProxyMode, *, latency_ms: float = 0.0) -> None:
        """Switch to ``mode`` now, for new and open connections alike."""
        if (mode is ProxyMode.LATENCY) != (latency_ms > 0):
            raise ValueError(f"latency_ms {latency_ms!r} is invalid: must be > 0 in LATENCY mode, else 0")
        self.mode, self.latency = mode, latency_ms / 1000
        for link in list(self._links):
            if mode is ProxyMode.BLACKHOLE:
                link.stall()
            elif mode is ProxyMode.RESET or link.stalled:
                link.reset()

    async def start(self) -> TcpProxy:
        """Listen (idempotent)."""
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, _LOOPBACK, self.port)
            self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and reset every open connection (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for link in list(self._links):
            link.reset()
        if server is not None:
            await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        link = _Link(writer, stalled=self.mode is ProxyMode.BLACKHOLE)
        if self.mode is ProxyMode.RESET:
            link.reset()
            return
        self._links.add(link)
        try:
            if not link.stalled:
                try:
                    target_reader, link.target = await asyncio.open_connection(*self.target)
                except OSError:
                    self.stats.refused += 1
                    return
                if link.stalled:  # black-holed while we connected
                    link.target.transport.abort()
                else:
                    link.back = asyncio.create_task(self._pump(link, target_reader, writer, to_client=True))
            await self._pump(link, reader, link.target, to_client=False)
        finally:
            self._links.discard(link)
            link.reset()

    async def _pump(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None, *, to_client: bool
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(_CHUNK):
                if self.latency:
                    await asyncio.sleep(self.latency)
                if link.stalled or writer is None:
                    continue  # black-holed: read and drop
                writer.write(data)
                await writer.drain()
                self._note(link, data, to_client=to_client)
        if to_client and not link.stalled:
            link.client.close()  # the target hung up: so do we, politely

    def _note(self, link: _Link, data: bytes, *, to_client: bool) -> None:
        if to_client:
            self.stats.bytes_to_client += len(data)
            if link.pending is not None and data.startswith(b"HTTP/1.") and data[9:12].isdigit():
                link.pending.status, link.pending = int(data[9:12]), None
        else:
            self.stats.bytes_to_target += len(data)
            if data.split(b" ", 1)[0] in _METHODS:  # a chunk that starts a request
                link.pending = Exchange(time.time(), data.split(b"\r\n", 1)[0].decode("latin-1"))
                self.stats.exchanges.append(link.pending)

    async def __aenter__(self) -> TcpProxy:
        return await self.start()


class StorageProxies(AsyncClosing):
    """A :class:`TcpProxy` in front of each service (blob, queue, table) of an Azurite account, switched together.

    Args:
        connection_string: the account's connection string; its endpoints must be on loopback.
    """

    def __init__(self, connection_string: str) -> None:
        connection = parse_connection_string(connection_string)
        endpoints = (connection.blob_endpoint, connection.queue_endpoint, connection.table_endpoint)
        self.blob, self.queue, self.table = (TcpProxy(port, target_host=host) for host, port in map(_target, endpoints))

    @property
    def all(self) -> tuple[TcpProxy, TcpProxy, TcpProxy]:
        """The blob, queue and table proxies."""
        return self.blob, self.queue, self.table

    @property
    def connection_string(self) -> str:
        """The development account's connection string through the proxies (after :meth:`start`)."""
        return connection_string_for(self.blob.port, self.queue.port, self.table.port)

    def set_mode(self, mode: ProxyMode, *, latency_ms: float = 0.0) -> None:
        """Switch all three proxies to ``mode``."""
        for proxy in self.all:
            proxy.set_mode(mode, latency_ms=latency_ms)

    async def start(self) -> StorageProxies:
        for proxy in self.all:
            await proxy.start()
        return self

    async def close(self) -> None:
        for proxy in self.all:
            await proxy.close()

    async def __aenter__(self) -> StorageProxies:
        return await self.start()


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.port is None:
        raise ValueError(f"endpoint {url!r} is invalid: must name its port (an Azurite endpoint does)")
    return parts.hostname or "", parts.port
