"""The dashboard: its page (HTML, CSS and JS from package data) and the JSON it needs beyond the management API.

The page is one response: the stylesheet and the script are put inline when the app is built, so that a
server with a token needs it once, in the page's URL, and every later request is a ``fetch`` carrying it in a
header. A Content-Security-Policy allows exactly those two inline blocks (by hash) and same-origin ``fetch``.

``/api/instances`` is the management API's query plus a ``name`` filter; ``/api/instances/{id}/timeline`` is the
history as a timeline (``_timeline``); ``/api/instances/{id}/children`` is the tree of sub-orchestrations.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from durable_storage.client import DurableOrchestrationClient
from durable_storage.client._management import WEBHOOK_PATH
from durable_storage.models import DurableOrchestrationStatus
from durable_storage.web._params import flag, instance_filter
from durable_storage.web._responses import CLIENT, client_of, error, status_payload
from durable_storage.web._timeline import children_of, timeline
from durable_storage.web._webhooks import first_page, instance_pages

__all__ = ["install"]

_MAX_DEPTH = 6
_MAX_NODES = 200


@dataclass(frozen=True)
class _Page:
    html: bytes
    policy: str


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _build_page() -> _Page:
    static = resources.files("durable_storage.web") / "static"
    html = (static / "index.html").read_text(encoding="utf-8")
    css = (static / "dashboard.css").read_text(encoding="utf-8")
    js = (static / "dashboard.js").read_text(encoding="utf-8")
    html = html.replace("<!-- STYLE -->", f"<style>{css}</style>").replace("<!-- SCRIPT -->", f"<script>{js}</script>")
    policy = (
        f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return _Page(html.encode("utf-8"), policy)


_PAGE = web.AppKey("dashboard_page", _Page)


async def page(request: web.Request) -> web.StreamResponse:
    """``GET /``: the dashboard."""
    built = request.app[_PAGE]
    return web.Response(
        body=built.html, content_type="text/html", charset="utf-8", headers={"Content-Security-Policy": built.policy}
    )


async def info(request: web.Request) -> web.StreamResponse:
    """``GET /api/info``: what the page shows in its header."""
    client = request.app[CLIENT]
    return web.json_response({"taskHub": client.task_hub.name, "webhookPath": WEBHOOK_PATH})


async def instances(request: web.Request) -> web.StreamResponse:
    """``GET /api/instances``: the management API's filters plus ``name`` (part of the orchestrator name, any case).

    The answer is ``{"instances": [...], "continuationToken": ...}``; the token goes back as ``?continuationToken``.
    """
    client = client_of(request)
    fetch = instance_pages(client, instance_filter(request.query), show_input=flag(request.query, "showInput", False))
    wanted = (request.query.get("name") or "").strip().lower()

    async def matching(token: str | None) -> tuple[list[DurableOrchestrationStatus], str | None]:
        found, token = await fetch(token)
        return [s for s in found if wanted in (s.name or "").lower()], token

    found, token = await first_page(matching, request.query.get("continuationToken") or None)
    return web.json_response({"instances": [status_payload(s) for s in found], "continuationToken": token})


async def instance_timeline(request: web.Request) -> web.StreamResponse:
    """``GET /api/instances/{instanceId}/timeline``: the current execution's steps."""
    client = client_of(request)
    instance_id = request.match_info["instanceId"]
    if not await client.get_status(instance_id):
        return error(404, f"No instance with ID '{instance_id}' found.")
    return web.json_response({"instanceId": instance_id, "items": timeline(await client.get_history(instance_id))})


async def instance_children(request: web.Request) -> web.StreamResponse:
    """``GET /api/instances/{instanceId}/children``: the instance and its sub-orchestrations, as a tree."""
    client = client_of(request)
    instance_id = request.match_info["instanceId"]
    status = await client.get_status(instance_id)
    if not status:
        return error(404, f"No instance with ID '{instance_id}' found.")
    budget = [_MAX_NODES]
    return web.json_response(await _node(client, status, 0, budget))


async def _node(
    client: DurableOrchestrationClient, status: DurableOrchestrationStatus, depth: int, budget: list[int]
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "instanceId": status.instance_id,
        "name": status.name,
        "runtimeStatus": status.runtime_status.name if status.runtime_status else None,
        "children": [],
        "truncated": False,
    }
    child_ids = children_of(await client.get_history(status.instance_id or ""))
    if child_ids and (depth >= _MAX_DEPTH or budget[0] <= 0):
        node["truncated"] = True
        return node
    taken = child_ids[: budget[0]]
    budget[0] -= len(taken)
    node["truncated"] = len(taken) < len(child_ids)
    statuses = await asyncio.gather(*(client.get_status(child) for child in taken))
    pairs = zip(taken, statuses, strict=True)
    node["children"] = await asyncio.gather(
        *(_node(client, s, depth + 1, budget) if s else _missing(child) for child, s in pairs)
    )
    return node


async def _missing(instance_id: str) -> dict[str, Any]:
    # A child whose row is gone (purged on its own): still shown, so that the tree does not hide a step.
    return {"instanceId": instance_id, "name": None, "runtimeStatus": None, "children": [], "truncated": False}


def install(app: web.Application) -> None:
    """Add the page and the ``/api/`` routes to ``app``."""
    app[_PAGE] = _build_page()
    app.add_routes(
        [
            web.get("/", page),
            web.get("/api/info", info),
            web.get("/api/instances", instances),
            web.get("/api/instances/{instanceId}/timeline", instance_timeline),
            web.get("/api/instances/{instanceId}/children", instance_children),
        ]
    )
