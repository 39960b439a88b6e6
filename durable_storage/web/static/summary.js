// The summary at the top of the list: instances per status, and a chart of those created and ended over a window.
// dashboard.js calls window.durableSummary with its helpers; every value reaches the page as text, the chart as SVG
// elements made one by one (createElementNS), never parsed markup.
"use strict";
window.durableSummary = ({ el, api, problem, onStatus }) => {
  const SVG = "http://www.w3.org/2000/svg";
  const SHOWN = ["Running", "Pending", "Suspended", "Completed", "Failed", "Terminated"];
  const RARE = ["ContinuedAsNew", "Canceled"]; // shown only when some instance has them
  const HEIGHT = 170;
  const PAD = { left: 34, right: 8, top: 10, bottom: 22 };
  const $ = (id) => document.getElementById(id);

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  const clock = (iso) => iso.slice(11, 16); // "HH:MM" of an ISO UTC time
  const windowLabel = () => $("summary-window").selectedOptions[0].textContent;

  function countCard(label, n, className, status) {
    const card = el("button", { type: "button", className: "count " + className + (n ? "" : " zero"),
      "data-status": status || "", title: status ? "show the " + status + " instances" : null },
    el("span", { className: "n" }, n), el("span", { className: "label" }, label));
    if (status) card.addEventListener("click", () => onStatus(status));
    return card;
  }

  function renderCounts(s) {
    const total = s.capped ? s.total + "+" : String(s.total);
    const statuses = SHOWN.concat(RARE.filter((name) => s.counts[name]));
    $("summary-counts").replaceChildren(
      countCard("instances", total, "total", null),
      ...statuses.map((name) => countCard(name, s.counts[name], "status-" + name, name)));
    const scope = "Instances not ended, and those created or ended in the " + windowLabel()
      + " (" + s.since.slice(0, 16).replace("T", " ") + " to " + s.until.slice(11, 16) + " UTC)";
    $("summary-scope").textContent = s.capped
      ? scope + ": the first " + s.total + " read, so the counts are lower bounds" : scope;
  }

  // Created above the axis, ended (completed, then failed on top) below it: in and out of the hub at a glance.
  function renderChart(s) {
    const box = $("summary-chart");
    const width = Math.max(320, box.clientWidth || 900);
    const n = s.buckets.length;
    const plot = width - PAD.left - PAD.right;
    const mid = PAD.top + (HEIGHT - PAD.top - PAD.bottom) / 2;
    const half = mid - PAD.top;
    const peak = Math.max(1, ...s.buckets.map((b) => Math.max(b.created, b.completed + b.failed)));
    const step = plot / n;
    const bar = Math.max(1, step - 1.5);
    const chart = svg("svg", { viewBox: "0 0 " + width + " " + HEIGHT, preserveAspectRatio: "none" });
    chart.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: mid, y2: mid, class: "axis" }));
    chart.append(svg("text", { x: PAD.left - 4, y: PAD.top + 9, "text-anchor": "end" }, peak));
    chart.append(svg("text", { x: PAD.left - 4, y: mid + 4, "text-anchor": "end" }, 0));
    chart.append(svg("text", { x: PAD.left - 4, y: mid + half, "text-anchor": "end" }, peak));
    s.buckets.forEach((b, i) => {
      const x = PAD.left + i * step;
      const tip = svg("title", {}, clock(b.start) + " UTC: " + b.created + " created, " + b.completed
        + " completed, " + b.failed + " failed");
      const group = svg("g", { "data-bucket": i }, tip);
      const h = (count) => (count / peak) * half;
      if (b.created) group.append(svg("rect", { x, y: mid - h(b.created), width: bar, height: h(b.created), class: "created" }));
      if (b.completed) group.append(svg("rect", { x, y: mid, width: bar, height: h(b.completed), class: "completed" }));
      if (b.failed) group.append(svg("rect", { x, y: mid + h(b.completed), width: bar, height: h(b.failed), class: "failed" }));
      chart.append(group);
      if (i % 10 === 0) chart.append(svg("text", { x, y: HEIGHT - 4 }, clock(b.start)));
    });
    chart.append(svg("text", { x: width - PAD.right, y: HEIGHT - 4, "text-anchor": "end" }, clock(s.until)));
    if (!s.buckets.some((b) => b.created || b.completed || b.failed)) {
      chart.append(svg("text", { x: width / 2, y: mid - 8, "text-anchor": "middle", class: "empty-note" },
        "nothing created or ended in the " + windowLabel()));
    }
    box.replaceChildren(chart);
  }

  async function load() {
    const section = $("summary");
    section.setAttribute("aria-busy", "true");
    const r = await api("GET", "/api/summary", { query: { window: $("summary-window").value } });
    if (r.ok) {
      renderCounts(r.data);
      renderChart(r.data);
      section.dataset.total = String(r.data.total);
    } else {
      $("summary-scope").textContent = "The summary is unavailable: " + problem(r);
    }
    section.dataset.loads = String(Number(section.dataset.loads || "0") + 1);
    section.setAttribute("aria-busy", "false");
  }

  $("summary-window").addEventListener("change", load);
  return { load };
};
