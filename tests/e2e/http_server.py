"""A local HTTP server (loopback only) for the ``call_http`` tests: it records what it received and answers as told.

Routes: ``/echo`` answers 200 with what it got (method, headers but Authorization, body) as JSON and two
``X-Multi`` headers;
``/accepted`` answers 202 with a ``Location`` (to ``/status``, which counts its calls: nothing may poll it);
``/error`` answers 500; ``/hang`` never answers until the server stops.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web


class LocalServer:
    """The server; ``url(path)`` gives a route's address, ``received`` the requests in order."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.status_polls = 0
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_get("/accepted", self._accepted)
        app.router.add_get("/status", self._status)
        app.router.add_get("/error", self._error)
        app.router.add_get("/hang", self._hang)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _echo(self, request: web.Request) -> web.Response:
        seen = {"method": request.method, "headers": dict(request.headers), "body": await request.text()}
        self.received.append(seen)
        # The Authorization header is recorded, not echoed: the answer goes into the history.
        echoed = {**seen, "headers": {k: v for k, v in request.headers.items() if k.lower() != "authorization"}}
        response = web.Response(text=json.dumps(echoed), content_type="application/json")
        response.headers.add("X-Multi", "one")
        response.headers.add("X-Multi", "two")
        return response

    async def _accepted(self, request: web.Request) -> web.Response:
        self.received.append({"method": request.method, "path": request.path})
        return web.Response(status=202, headers={"Location": self.url("/status"), "Retry-After": "1"})

    async def _status(self, request: web.Request) -> web.Response:
        self.status_polls += 1
        return web.Response(text="done")

    async def _error(self, request: web.Request) -> web.Response:
        return web.Response(status=500, text="the server broke")

    async def _hang(self, request: web.Request) -> web.Response:
        await self._stopping.wait()
        return web.Response(text="too late")
