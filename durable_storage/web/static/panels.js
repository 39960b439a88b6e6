// The boxes at the top of an instance's page: a failed instance's error, and what a running one waits for.
// dashboard.js calls window.durablePanels with its helpers; every value reaches the page as text.
"use strict";
window.durablePanels = ({ el, $, instanceLink, formatValue, formatDuration, shortTime, parseTime, TERMINAL }) => {
  // A failed instance's error, once: the message (its lines kept), the frames of the user's code, the rest a click
  // away. The Output box would repeat the message, so it is hidden; the timeline's last step points here.
  function renderError(s, items) {
    const failed = s.runtimeStatus === "Failed" ? items.find((item) => item.kind === "failed") : null;
    $("error-section").hidden = s.runtimeStatus !== "Failed";
    $("output-section").hidden = s.runtimeStatus === "Failed";
    if (s.runtimeStatus !== "Failed") return;
    $("error-message").textContent = failed ? failed.failure : formatValue(s.output);
    $("error-frames").textContent = (failed && failed.userFrames) || "(no frame of your code: see the full traceback)";
    $("error-details").textContent = (failed && failed.details) || "(no traceback was recorded)";
    $("error-full").hidden = !(failed && failed.details);
  }

  // What a running instance waits for: the history's open steps (activities, sub-orchestrations, timers). An
  // awaited external event has no row until it arrives, so its name is not knowable: the panel says so, with the
  // events received so far and the custom status, where an orchestrator can say what it waits for.
  function renderWaiting(s, waiting) {
    const section = $("waiting-section");
    section.hidden = TERMINAL.has(s.runtimeStatus) || !waiting;
    if (section.hidden) return;
    const now = Date.now();
    const rows = waiting.steps.map((step) => waitingStep(step, now));
    if (s.runtimeStatus === "Pending") rows.unshift(el("li", {}, el("span", { className: "what" }, "its start"),
      " — the start message waits in a control queue for a worker"));
    if (s.runtimeStatus === "Suspended") rows.unshift(el("li", {}, el("span", { className: "what" }, "Resume"),
      " — it is suspended: nothing runs until it is resumed"));
    const received = Object.entries(waiting.received).map(([name, n]) => name + (n > 1 ? " ×" + n : "")).join(", ");
    rows.push(el("li", { "data-kind": "event" }, el("span", { className: "what" }, "External events: "),
      el("span", { className: "hint" }, (waiting.steps.length ? "possibly one, too" : "most likely one")
        + " — an awaited event is recorded only when it arrives, so its name is not in the history. Received so far: "
        + (received || "none") + ".")));
    if (s.customStatus !== null && s.customStatus !== undefined) {
      rows.push(el("li", { "data-kind": "customStatus" }, el("span", { className: "what" }, "Custom status: "),
        formatValue(s.customStatus)));
    }
    $("waiting-list").replaceChildren(...rows);
  }

  function waitingStep(step, now) {
    const since = parseTime(step.start);
    const ago = Number.isNaN(since) ? "" : " — scheduled " + formatDuration(Math.max(0, now - since)) + " ago";
    const what = (text) => el("span", { className: "what" }, text);
    const attrs = { "data-kind": step.kind, "data-name": step.name || "" };
    if (step.kind === "timer") {
      const due = parseTime(step.fireAt) - now;
      const when = due > 0 ? " (in " + formatDuration(due) + ")" : " (due now)";
      const until = shortTime(step.fireAt).replace(/\.\d+$/, ""); // to the second
      return el("li", attrs, what("a timer"), " until " + until + " UTC" + when);
    }
    if (step.kind === "suborchestration") {
      return el("li", attrs, what("sub-orchestration " + (step.name || "")), " ",
        step.instanceId ? instanceLink(step.instanceId) : "", ago);
    }
    return el("li", attrs, what("activity " + (step.name || "")), ago);
  }

  return { renderError, renderWaiting };
};
