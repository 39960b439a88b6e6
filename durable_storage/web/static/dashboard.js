// The durable-storage dashboard: vanilla JS over the Durable Functions HTTP API and /api/.
// Every value from the server reaches the page through textContent or a text node, never innerHTML.
"use strict";
(() => {
  const TOKEN = new URLSearchParams(window.location.search).get("token");
  const API = "/runtime/webhooks/durabletask";
  const TERMINAL = new Set(["Completed", "Failed", "Terminated", "Canceled"]);
  const POLL_MS = 1000; // how often an instance that has not ended is read again
  const KIND_LABELS = {
    started: "Started", activity: "Activity", suborchestration: "Sub-orchestration", timer: "Timer",
    eventRaised: "Event received", eventSent: "Event sent", completed: "Completed", failed: "Failed",
    terminated: "Terminated", suspended: "Suspended", resumed: "Resumed", continuedAsNew: "Continued as new",
    rewound: "Rewound",
  };
  const state = {
    filters: { statuses: [], name: "", prefix: "", from: "", to: "", top: "25" },
    pageTokens: [null],
    pageIndex: 0,
    currentId: null,
    pollTimer: null,
    notice: "",
  };

  const $ = (id) => document.getElementById(id);
  let summary = null; // the summary at the top of the list (summary.js), made in start()
  let panels = null; // the Error and Waiting for boxes of an instance (panels.js), made in start()

  // An element with attributes and children; strings become text nodes (never parsed as HTML).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const instanceHref = (id) => "#/instances/" + encodeURIComponent(id);
  const instanceLink = (id, className) => el("a", { href: instanceHref(id), className }, id);
  const badge = (status) => el("span", { className: "badge status-" + (status || "unknown") }, status || "unknown");

  async function api(method, path, options) {
    const { query, body } = options || {};
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
    }
    const headers = { Accept: "application/json" };
    if (TOKEN) headers.Authorization = "Bearer " + TOKEN;
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (failure) {
      return { status: 0, ok: false, data: { Message: "the server cannot be reached: " + failure } };
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = text; }
    }
    return { status: response.status, ok: response.ok, data };
  }

  const problem = (r) => (r.data && r.data.Message) || (typeof r.data === "string" && r.data) || "HTTP " + r.status;

  function say(id, text, isError) {
    const node = $(id);
    node.textContent = text;
    node.classList.toggle("error", Boolean(isError));
  }

  const shortTime = (text) => (text ? text.replace("T", " ").replace("Z", "") : "");
  const parseTime = (text) => (text ? Date.parse(text.replace(/(\.\d{3})\d+/, "$1")) : NaN);

  function formatValue(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "string") return value;
    return JSON.stringify(value, null, 2);
  }

  function formatDuration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return "";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    const minutes = Math.floor(ms / 60000);
    return minutes + " min " + Math.round((ms % 60000) / 1000) + " s";
  }

  // --- the list -------------------------------------------------------------------------------------------------

  function readFilters() {
    const checked = document.querySelectorAll('#filters input[name="status"]:checked');
    state.filters = {
      statuses: Array.from(checked, (box) => box.value),
      name: $("filter-name").value.trim(),
      prefix: $("filter-prefix").value.trim(),
      from: $("filter-from").value.trim(),
      to: $("filter-to").value.trim(),
      top: $("filter-top").value,
    };
    state.pageTokens = [null];
    state.pageIndex = 0;
  }

  async function loadPage() {
    const table = $("instances-table");
    table.setAttribute("aria-busy", "true"); // the caption says "Loading…" and the rows shown so far fade
    const f = state.filters;
    const r = await api("GET", "/api/instances", {
      query: {
        runtimeStatus: f.statuses.join(","), name: f.name, instanceIdPrefix: f.prefix,
        createdTimeFrom: f.from, createdTimeTo: f.to, top: f.top,
        continuationToken: state.pageTokens[state.pageIndex],
      },
    });
    const rows = r.ok ? r.data.instances : [];
    renderRows(rows);
    if (r.ok) {
      const capped = r.data.capped ? "More than " + r.data.scanLimit + " instances were created in one window: "
        + "this is the newest of the first " + r.data.scanLimit + " read. Narrow the list with Created from/to. " : "";
      say("list-message", capped + state.notice);
      state.notice = "";
      state.pageTokens.length = state.pageIndex + 1;
      state.pageTokens.push(r.data.continuationToken);
    } else {
      say("list-message", problem(r), true);
    }
    $("prev-page").disabled = state.pageIndex === 0;
    $("next-page").disabled = !(r.ok && r.data.continuationToken);
    $("page-info").textContent = "Page " + (state.pageIndex + 1) + " · " + rows.length + " instance(s)";
    table.dataset.loads = String(Number(table.dataset.loads || "0") + 1); // lets a test wait for this load
    table.setAttribute("aria-busy", "false");
  }

  function renderRows(instances) {
    const body = $("instances-table").tBodies[0];
    body.replaceChildren();
    if (!instances.length) {
      body.append(el("tr", {}, el("td", { colspan: 6, className: "empty" }, "No instances match.")));
      return;
    }
    for (const s of instances) {
      body.append(el("tr", { "data-instance-id": s.instanceId, "data-status": s.runtimeStatus },
        el("td", { className: "id" }, instanceLink(s.instanceId, "instance-link")),
        el("td", { className: "name" }, s.name || ""),
        el("td", { className: "status" }, badge(s.runtimeStatus)),
        el("td", {}, shortTime(s.createdTime)),
        el("td", {}, shortTime(s.lastUpdatedTime)),
        outputCell(s)));
    }
  }

  // The output, or for a failed instance the error's first line (the message, not the trace it may carry).
  function outputCell(s) {
    const failed = s.runtimeStatus === "Failed";
    if (s.output === null || s.output === undefined) return el("td", { className: "output none" }, "—");
    const text = failed ? String(s.output).split("\n")[0] : oneLine(s.output);
    return el("td", { className: "output" + (failed ? " error" : ""), title: text }, el("span", {}, text));
  }

  const oneLine = (value) => (typeof value === "string" ? value : JSON.stringify(value)).replace(/\s+/g, " ");

  // --- one instance -----------------------------------------------------------------------------------------------

  function stopPolling() {
    if (state.pollTimer !== null) window.clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }

  async function refreshDetail() {
    stopPolling();
    const id = state.currentId;
    const path = "/" + encodeURIComponent(id);
    const [status, steps, tree] = await Promise.all([
      api("GET", API + "/instances" + path, { query: { showInput: "true" } }),
      api("GET", "/api/instances" + path + "/timeline"),
      api("GET", "/api/instances" + path + "/children"),
    ]);
    if (id !== state.currentId) return; // the user moved on while we waited
    if (!status.ok && status.status !== 500) {
      renderMissing(status);
      return;
    }
    const s = status.data;
    const items = steps.ok ? steps.data.items : [];
    renderStatus(s, items);
    panels.renderError(s, items);
    panels.renderWaiting(s, steps.ok ? steps.data.waitingFor : null);
    renderTimeline(items);
    renderTree(tree.ok ? tree.data : null, id);
    if (!TERMINAL.has(s.runtimeStatus)) state.pollTimer = window.setTimeout(refreshDetail, POLL_MS);
  }

  // Empty the detail, so that nothing of the previous instance shows under a new ID.
  function clearDetail(statusText) {
    $("detail-status").replaceWith(el("span", { id: "detail-status", className: "badge" }, statusText));
    $("detail-meta").replaceChildren();
    for (const id of ["detail-input", "detail-output", "detail-custom-status"]) $(id).textContent = "";
    $("error-section").hidden = true;
    $("waiting-section").hidden = true;
    $("output-section").hidden = false;
    $("timeline").replaceChildren();
    $("children-tree").replaceChildren();
    setButtons(null);
  }

  function renderMissing(r) {
    clearDetail("not found");
    $("timeline").setAttribute("aria-busy", "false");
    say("action-message", problem(r), true);
  }

  function renderStatus(s, items) {
    $("detail-status").replaceWith(
      el("span", { id: "detail-status", className: "badge status-" + s.runtimeStatus }, s.runtimeStatus));
    const started = items.find((item) => item.kind === "started");
    const parent = started && started.parentInstanceId;
    $("detail-meta").replaceChildren(
      el("dt", {}, "Name"), el("dd", {}, s.name || ""),
      el("dt", {}, "Created (UTC)"), el("dd", {}, shortTime(s.createdTime)),
      el("dt", {}, "Last updated (UTC)"), el("dd", {}, shortTime(s.lastUpdatedTime)),
      el("dt", {}, "Parent"), el("dd", {}, parent ? instanceLink(parent) : "—"));
    $("detail-input").textContent = formatValue(s.input);
    $("detail-output").textContent = formatValue(s.output);
    $("detail-custom-status").textContent = formatValue(s.customStatus);
    setButtons(s.runtimeStatus);
  }

  function setButtons(status) {
    const known = status !== null;
    const ended = TERMINAL.has(status);
    $("btn-terminate").disabled = !known || ended;
    $("btn-suspend").disabled = !known || ended || status === "Suspended";
    $("btn-resume").disabled = status !== "Suspended";
    $("btn-rewind").disabled = status !== "Failed";
    $("btn-purge").disabled = !known || !ended;
    $("btn-raise").disabled = !known || ended;
  }

  function renderTimeline(items) {
    const list = $("timeline");
    list.replaceChildren();
    if (!items.length) {
      list.append(el("li", { className: "empty" }, "No history yet."));
      list.setAttribute("aria-busy", "false");
      return;
    }
    const starts = items.map((item) => parseTime(item.start)).filter((t) => !Number.isNaN(t));
    const ends = items.map((item) => parseTime(item.end)).filter((t) => !Number.isNaN(t));
    const origin = Math.min(...starts);
    const span = Math.max(1, Math.max(...starts, ...ends) - origin);
    const ended = items.find((item) => item.kind === "failed");
    const shown = ended ? ended.failure || "" : ""; // the instance's error, shown in the Error box
    for (const item of items) list.append(timelineItem(item, origin, span, shown));
    list.setAttribute("aria-busy", "false");
  }

  function timelineItem(item, origin, span, shown) {
    const start = parseTime(item.start);
    const end = Number.isNaN(parseTime(item.end)) ? start : parseTime(item.end);
    const offset = Number.isNaN(start) ? "" : "+" + formatDuration(start - origin);
    const name = item.kind === "suborchestration" && item.instanceId
      ? el("span", { className: "name" }, item.name || "", " (", instanceLink(item.instanceId), ")")
      : el("span", { className: "name" }, item.name || "");
    // A step whose failure is the instance's error (an activity's error let through) points to the Error box too.
    const cause = item.failure ? item.failure.slice(item.failure.indexOf(": ") + 2) : "";
    const repeats = item.kind === "failed" || (Boolean(cause) && shown.includes(cause));
    const outcome = stepOutcome(item, repeats);
    const bar = el("div", { className: "bar " + (item.status || item.kind) });
    bar.style.left = ((Math.max(0, start - origin) / span) * 100).toFixed(2) + "%";
    bar.style.width = (((end - start) / span) * 100).toFixed(2) + "%";
    const li = el("li", { className: "kind-" + item.kind + (item.status ? " step-" + item.status : ""),
      "data-kind": item.kind, "data-name": item.name || "" },
      el("div", { className: "line" },
        el("span", { className: "when" }, shortTime(item.start), " ", offset),
        el("span", { className: "kind" }, KIND_LABELS[item.kind] || item.kind),
        name,
        el("span", { className: "duration" }, formatDuration(item.durationMs)),
        outcome),
      el("div", { className: "track" }, bar));
    const details = timelineDetails(item, repeats);
    if (details) li.append(details);
    return li;
  }

  function stepOutcome(item, repeats) {
    // The instance's own failure is shown once, in the Error box: its steps point there.
    if (repeats) {
      const first = item.kind === "failed" ? "failed" : item.failure.split("\n")[0];
      return el("span", { className: "outcome failed" }, first + " — ", el("a", { href: "#error-section",
        onclick: (event) => { event.preventDefault(); $("error-section").scrollIntoView(); } }, "the error is above"));
    }
    if (item.failure) return el("span", { className: "outcome failed" }, item.failure);
    return el("span", { className: "outcome" }, item.status || "");
  }

  function timelineDetails(item, repeats) {
    const parts = [];
    const add = (label, value) => parts.push(el("div", {}, el("strong", {}, label), el("pre", {}, formatValue(value))));
    if (item.input !== undefined && item.input !== null) add("Input", item.input);
    if (item.result !== undefined && item.result !== null) add("Result", item.result);
    if (item.reason) add("Reason", item.reason);
    if (!repeats && item.userFrames) add("Your code (most recent call last)", item.userFrames);
    if (!repeats && item.details) add(item.userFrames ? "Full traceback" : "Details", item.details);
    if (item.fireAt) add("Fires at", item.fireAt);
    return parts.length ? el("details", {}, el("summary", {}, "details"), parts) : null;
  }

  function renderTree(root, currentId) {
    const box = $("children-tree");
    box.replaceChildren();
    if (!root) return;
    if (!root.children.length) {
      box.append(el("p", { className: "message" }, "No sub-orchestrations."));
      return;
    }
    box.append(el("ul", { className: "tree" }, treeNode(root, currentId)));
  }

  function treeNode(node, currentId) {
    const label = node.instanceId === currentId
      ? el("span", { className: "id current" }, node.instanceId)
      : instanceLink(node.instanceId, "id");
    const li = el("li", { "data-instance-id": node.instanceId },
      el("span", { className: "node" }, label, node.name || "", badge(node.runtimeStatus)));
    if (node.children.length) li.append(el("ul", {}, node.children.map((child) => treeNode(child, currentId))));
    if (node.truncated) li.append(el("p", { className: "message" }, "(more not shown)"));
    return li;
  }

  async function operate(operation) {
    const id = state.currentId;
    const reason = $("action-reason").value;
    const r = await api("POST", API + "/instances/" + encodeURIComponent(id) + "/" + operation, { query: { reason } });
    say("action-message", r.ok ? operation + ": accepted" : operation + ": " + problem(r), !r.ok);
    await refreshDetail();
  }

  async function purge() {
    $("purge-confirm").hidden = true;
    const id = state.currentId;
    const r = await api("DELETE", API + "/instances/" + encodeURIComponent(id));
    if (!r.ok) {
      say("action-message", "purge: " + problem(r), true);
      return;
    }
    state.notice = "Purged " + id + ".";
    window.location.hash = "#/";
  }

  async function raiseEvent(event) {
    event.preventDefault();
    let data;
    try {
      data = JSON.parse($("event-data").value || "null");
    } catch (_) {
      say("action-message", "the event data is not JSON", true);
      return;
    }
    const name = $("event-name").value.trim();
    const path = API + "/instances/" + encodeURIComponent(state.currentId) + "/raiseEvent/" + encodeURIComponent(name);
    const r = await api("POST", path, { body: data });
    say("action-message", r.ok ? "event " + name + ": accepted" : "event " + name + ": " + problem(r), !r.ok);
    await refreshDetail();
  }

  // --- navigation -------------------------------------------------------------------------------------------------

  function showList() {
    state.currentId = null;
    $("detail-view").hidden = true;
    $("list-view").hidden = false;
    summary.load();
    loadPage();
  }

  // A click on a status in the summary: the list shows that status only.
  function showStatus(status) {
    for (const box of document.querySelectorAll('#filters input[name="status"]')) box.checked = box.value === status;
    readFilters();
    loadPage();
  }

  function showDetail(id) {
    state.currentId = id;
    $("list-view").hidden = true;
    $("detail-view").hidden = false;
    $("detail-id").textContent = id;
    clearDetail("");
    $("timeline").setAttribute("aria-busy", "true");
    $("purge-confirm").hidden = true;
    say("action-message", "");
    refreshDetail();
  }

  function route() {
    stopPolling();
    const match = window.location.hash.match(/^#\/instances\/(.+)$/);
    if (match) showDetail(decodeURIComponent(match[1]));
    else showList();
  }

  function wire() {
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      say("list-message", "");
      readFilters();
      loadPage();
    });
    $("reset-filters").addEventListener("click", () => {
      $("filters").reset();
      readFilters();
      loadPage();
    });
    $("prev-page").addEventListener("click", () => { state.pageIndex = Math.max(0, state.pageIndex - 1); loadPage(); });
    $("next-page").addEventListener("click", () => { state.pageIndex += 1; loadPage(); });
    $("refresh-list").addEventListener("click", () => { summary.load(); loadPage(); });
    for (const operation of ["terminate", "suspend", "resume", "rewind"]) {
      $("btn-" + operation).addEventListener("click", () => operate(operation));
    }
    $("btn-purge").addEventListener("click", () => { $("purge-confirm").hidden = false; });
    $("btn-purge-cancel").addEventListener("click", () => { $("purge-confirm").hidden = true; });
    $("btn-purge-confirm").addEventListener("click", purge);
    $("raise-form").addEventListener("submit", raiseEvent);
    window.addEventListener("hashchange", route);
  }

  async function start() {
    summary = window.durableSummary({ el, api, problem, onStatus: showStatus });
    panels = window.durablePanels({ el, $, instanceLink, formatValue, formatDuration, shortTime, parseTime, TERMINAL });
    wire();
    route(); // at once: the view shows what it is loading while the header's answer comes
    const r = await api("GET", "/api/info");
    $("hub-name").textContent = r.ok ? r.data.taskHub : "(unavailable: " + problem(r) + ")";
  }

  start();
})();
