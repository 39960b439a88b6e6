"""The dashboard: its page (HTML, CSS and JS from package data) and the JSON it needs beyond the management API.

The page is one response: the stylesheet and the script are put inline when the app is built, so that a
server with a token needs it once, in the page's URL, and every later request is a ``fetch`` carrying it in a
header. A Content-Security-Policy allows exactly those two inline blocks (by hash) and same-origin ``fetch``.

``/api/summary`` counts the hub's instances per status and charts what was created and ended (``_summary``);
``/api/instances`` is the management API's query plus a ``name`` filter, newest first (``_overview`` says how, and
what it costs); ``/api/instances/{id}/timeline`` is the history as a timeline, with what a running instance waits
for (``_timeline``); ``/api/instances/{id}/children`` is the tree of sub-orchestrations.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from aiohttp import web

from durable_storage.client import DurableOrchestrationClient
from durable_storage.client._management import WEBHOOK_PATH
from durable_storage.errors import ConfigurationError
from durable_storage.models import DurableOrchestrationStatus
from durable_storage.web._overview import SCAN_ROWS, newest_first, summary
from durable_storage.web._params import instance_filter
from durable_storage.web._responses import CLIENT, client_of, error, status_payload
from durable_storage.web._timeline import children_of, timeline, waiting_for

__all__ = ["install"]

_MAX_DEPTH = 6
_MAX_NODES = 200
_PREVIEW_CHARS = 300
_MIN_WINDOW, _MAX_WINDOW = 60, 7 * 24 * 3600


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
    # summary.js and panels.js define what dashboard.js calls: one script, in that order.
    scripts = ("summary.js", "panels.js", "dashboard.js")
    js = "\n".join((static / name).read_text(encoding="utf-8") for name in scripts)
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


def _preview(status: DurableOrchestrationStatus) -> dict[str, Any]:
    # A list row shows the start of the output (or the error); the instance's page has all of it.
    payload = status_payload(status)
    output = payload.get("output")
    text = output if isinstance(output, str) else json.dumps(output)
    if output is not None and len(text) > _PREVIEW_CHARS:
        payload["output"] = text[:_PREVIEW_CHARS] + "…"
        payload["outputTruncated"] = True
    return payload


async def instances(request: web.Request) -> web.StreamResponse:
    """``GET /api/instances``: the management API's filters plus ``name`` (part of the orchestrator name, any case),
    newest first.

    The answer is ``{"instances": [...], "continuationToken": ..., "capped": ...}``; the token goes back as
    ``?continuationToken``. Outputs longer than ``_PREVIEW_CHARS`` are cut (``outputTruncated``).
    """
    client = client_of(request)
    listing = await newest_first(
        client,
        instance_filter(request.query),
        name=(request.query.get("name") or "").strip().lower(),
        token=request.query.get("continuationToken") or None,
    )
    return web.json_response(
        {
            "instances": [_preview(s) for s in listing.statuses],
            "continuationToken": listing.continuation_token,
            "capped": listing.capped,
            "scanLimit": SCAN_ROWS,
        }
    )


async def hub_summary(request: web.Request) -> web.StreamResponse:
    """``GET /api/summary?window=SECONDS``: instances per status and the created/ended chart (default: an hour)."""
    value = request.query.get("window") or "3600"
    if not value.isdigit() or not _MIN_WINDOW <= int(value) <= _MAX_WINDOW:
        raise ConfigurationError(
            f"query parameter window={value!r} is invalid: must be {_MIN_WINDOW} to {_MAX_WINDOW} seconds"
        )
    return web.json_response(await summary(client_of(request), timedelta(seconds=int(value))))


async def instance_timeline(request: web.Request) -> web.StreamResponse:
    """``GET /api/instances/{instanceId}/timeline``: the current execution's steps."""
    client = client_of(request)
    instance_id = request.match_info["instanceId"]
    if not await client.get_status(instance_id):
        return error(404, f"No instance with ID '{instance_id}' found.")
    events = await client.get_history(instance_id)
    return web.json_response({"instanceId": instance_id, "items": timeline(events), "waitingFor": waiting_for(events)})


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
            web.get("/api/summary", hub_summary),
            web.get("/api/instances", instances),
            web.get("/api/instances/{instanceId}/timeline", instance_timeline),
            web.get("/api/instances/{instanceId}/children", instance_children),
        ]
    )
