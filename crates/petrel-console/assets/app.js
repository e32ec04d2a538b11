// Petrel console: a single page over the JSON API under /api/ (crates/petrel-console/src/api).
// Plain JavaScript, no build step and no third-party code: the server compiles this file into
// the binary. Pages are built with h() (DOM nodes, never innerHTML), so text from messages,
// topics or clients is always shown as text.

const view = document.getElementById("view");
let timers = [];

// ---- helpers -------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v; // CSSOM: allowed by the page's CSP, unlike a style attribute
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, options = {}) {
  const init = { headers: { Accept: "application/json" }, ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  const res = await fetch(path, init);
  let data = null;
  try { data = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok) throw new Error((data && data.error) || `${res.status} ${res.statusText}`);
  return data;
}

function flash(text, kind = "info") {
  const box = document.getElementById("flash");
  const item = h("div", { class: kind }, text);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

function errorBox(e) {
  return h("div", { class: "error-box", "data-error": "" }, String(e.message || e));
}

const pad = (n, w = 2) => String(n).padStart(w, "0");
function fmtTime(ms) {
  if (!ms || ms <= 0) return "–";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
const fmtNum = (n) => (n === undefined || n === null ? "–" : Number(n).toLocaleString("en-US"));
const fmtTps = (n) => (n === undefined || n === null ? "–" : Number(n).toFixed(1));
// <input type="datetime-local"> value <-> epoch ms, in the browser's zone.
function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromLocalInput = (v) => (v ? new Date(v).getTime() : undefined);

function every(ms, fn) {
  fn();
  timers.push(setInterval(fn, ms));
}

function table(columns, rows, rowAttrs) {
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : "" }, c.title)))),
    h("tbody", {}, rows.length === 0
      ? h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "nothing here"))
      : rows.map((r) => h("tr", rowAttrs ? rowAttrs(r) : {},
        columns.map((c) => h("td", { class: c.num ? "num" : "", "data-field": c.key }, c.cell(r)))))));
}

function stat(label, value, field) {
  return h("div", { class: "stat" }, h("div", { class: "v", "data-stat": field }, value), h("div", { class: "k" }, label));
}

const enc = encodeURIComponent;
function query() {
  const q = location.hash.split("?")[1] || "";
  return Object.fromEntries(new URLSearchParams(q));
}

// ---- charts (SVG, drawn from the polled figures) -------------------------------------------

function lineChart(title, series, colors) {
  const W = 600, H = 160, L = 44, B = 18;
  const all = series.flatMap((s) => s.points.map((p) => p[1]));
  const max = Math.max(1, ...all) * 1.1;
  // The window grows with the history, from one minute up to five.
  const t1 = Date.now();
  const first = Math.min(t1, ...series.flatMap((s) => s.points.map((p) => p[0])));
  const t0 = Math.max(t1 - HISTORY_MS, Math.min(first, t1 - 60_000));
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - 4);
  const y = (v) => H - B - (v / max) * (H - B - 6);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
  };
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    add("line", { x1: L, x2: W, y1: y(v), y2: y(v), class: "grid" });
    add("text", { x: 2, y: y(v) + 3 }, v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1));
  }
  const span = Math.round((t1 - t0) / 1000);
  add("text", { x: L, y: H - 4 }, span >= 120 ? `−${Math.round(span / 60)} min` : `−${span} s`);
  add("text", { x: W - 30, y: H - 4 }, "now");
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    add("polyline", {
      points: s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
      stroke: colors[i % colors.length],
    });
    const [lt, lv] = s.points[s.points.length - 1];
    add("circle", { cx: x(lt).toFixed(1), cy: y(lv).toFixed(1), r: 3, fill: colors[i % colors.length] });
  });
  const legend = h("div", { class: "muted" }, series.map((s, i) =>
    h("span", { style: `color:${colors[i % colors.length]}; margin-right:12px` }, `■ ${s.name}`)));
  return h("div", { class: "card chart", "data-chart": title }, h("div", { class: "title" }, title), svg, legend);
}

// The cluster figures keep their history while the page is open, across views.
const history = new Map(); // broker key -> { in: [[t, v]], out: [[t, v]] }
const HISTORY_MS = 5 * 60_000;

function remember(cluster) {
  const cutoff = cluster.timestamp - HISTORY_MS;
  for (const b of cluster.brokers) {
    const key = `${b.brokerName}/${b.brokerId}`;
    const s = history.get(key) || { in: [], out: [] };
    s.in.push([cluster.timestamp, b.inTps]);
    s.out.push([cluster.timestamp, b.outTps]);
    s.in = s.in.filter((p) => p[0] >= cutoff);
    s.out = s.out.filter((p) => p[0] >= cutoff);
    history.set(key, s);
  }
}

// ---- views ---------------------------------------------------------------------------------

async function clusterView() {
  const charts = h("div", { class: "charts" });
  const brokers = h("div");
  const totals = h("div", { class: "row card" });
  view.replaceChildren(h("h1", {}, "Cluster"), totals, charts, h("h2", {}, "Brokers"), brokers);
  const colors = ["#1565c0", "#2e7d32", "#c62828", "#6a1b9a", "#ef6c00", "#00838f"];
  every(2000, async () => {
    try {
      const c = await api("/api/cluster");
      document.getElementById("namesrv").textContent = `name server ${c.namesrvAddrs.join(";")}`;
      remember(c);
      const sum = (f) => c.brokers.reduce((a, b) => a + (b[f] || 0), 0);
      totals.replaceChildren(
        stat("brokers", c.brokers.length, "brokers"),
        stat("in TPS (10 s)", fmtTps(sum("inTps")), "inTps"),
        stat("out TPS (10 s)", fmtTps(sum("outTps")), "outTps"),
        stat("stored today", fmtNum(sum("inTotalToday")), "inTotalToday"),
        stat("delivered today", fmtNum(sum("outTotalToday")), "outTotalToday"));
      const series = (dir) => [...history.entries()].map(([name, s]) => ({ name, points: s[dir] }));
      charts.replaceChildren(
        lineChart("Messages in per second", series("in"), colors),
        lineChart("Messages out per second", series("out"), colors));
      brokers.replaceChildren(table([
        { title: "Cluster", key: "cluster", cell: (b) => b.cluster },
        { title: "Broker", key: "brokerName", cell: (b) => b.brokerName },
        { title: "ID", key: "brokerId", num: true, cell: (b) => b.brokerId },
        { title: "Address", key: "addr", cell: (b) => b.addr },
        { title: "Version", key: "version", cell: (b) => b.error ? h("span", { class: "bad" }, b.error) : b.version },
        { title: "In TPS", key: "inTps", num: true, cell: (b) => fmtTps(b.inTps) },
        { title: "Out TPS", key: "outTps", num: true, cell: (b) => fmtTps(b.outTps) },
        { title: "In today", key: "inTotalToday", num: true, cell: (b) => fmtNum(b.inTotalToday) },
        { title: "Out today", key: "outTotalToday", num: true, cell: (b) => fmtNum(b.outTotalToday) },
        { title: "Hours kept", key: "hoursOfData", num: true, cell: (b) => b.hoursOfData.toFixed(2) },
        { title: "Disk used", key: "commitLogDiskRatio", num: true, cell: (b) => `${(b.commitLogDiskRatio * 100).toFixed(1)} %` },
      ], c.brokers, (b) => ({ "data-broker": b.brokerName })));
    } catch (e) {
      brokers.replaceChildren(errorBox(e));
    }
  });
}

async function topicsView() {
  const list = h("div");
  const filter = h("input", { placeholder: "filter", id: "topic-filter", value: query().q || "" });
  const kinds = { normal: true, retry: false, dlq: false, system: false };
  const boxes = Object.keys(kinds).map((k) => h("label", { class: "check" },
    h("input", { type: "checkbox", checked: kinds[k], "data-kind": k, onchange: (e) => { kinds[k] = e.target.checked; draw(); } }), k));
  const form = h("form", { id: "create-topic", onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      const r = await api("/api/topics", { json: {
        topic: f.get("topic"), readQueueNums: +f.get("queues"), writeQueueNums: +f.get("queues"),
        perm: +f.get("perm"), order: f.get("order") === "on" } });
      flash(`topic ${r.topic} created on ${r.brokers.join(", ")}`);
      load();
    } catch (err) { flash(err.message, "error"); }
  } },
    h("label", {}, "Topic", h("input", { name: "topic", required: true })),
    h("label", {}, "Queues", h("input", { name: "queues", type: "number", min: 1, max: 1024, value: 8 })),
    h("label", {}, "Permission", h("select", { name: "perm" },
      h("option", { value: 6 }, "read + write"), h("option", { value: 4 }, "read only"), h("option", { value: 2 }, "write only"))),
    h("label", { class: "check" }, h("input", { name: "order", type: "checkbox" }), "ordered"),
    h("button", { type: "submit" }, "Create or update"));
  let topics = [];
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = topics.filter((t) => kinds[t.kind] && t.topic.toLowerCase().includes(q));
    list.replaceChildren(table([
      { title: "Topic", key: "topic", cell: (t) => h("a", { href: `#/topic/${enc(t.topic)}` }, t.topic) },
      { title: "Kind", key: "kind", cell: (t) => h("span", { class: `tag ${t.kind}` }, t.kind) },
      { title: "Messages", key: "messageCount", num: true, cell: (t) => fmtNum(t.messageCount) },
      { title: "Queues", key: "queues", num: true, cell: (t) => fmtNum(t.queues) },
      { title: "Put TPS (1 min)", key: "putTps", num: true, cell: (t) => fmtTps(t.putTps) },
      { title: "", key: "actions", cell: (t) => h("a", { href: `#/messages?topic=${enc(t.topic)}` }, "messages") },
    ], rows, (t) => ({ "data-topic": t.topic })));
  };
  filter.addEventListener("input", draw);
  view.replaceChildren(h("h1", {}, "Topics"), h("div", { class: "card" }, form),
    h("div", { class: "row", style: "margin-bottom:10px" }, filter, boxes), list);
  const load = async () => {
    try { topics = await api("/api/topics"); draw(); } catch (e) { list.replaceChildren(errorBox(e)); }
  };
  every(5000, load);
}

async function topicView(name) {
  view.replaceChildren(h("h1", {}, "Topic ", h("span", { id: "topic-name" }, name)), h("p", { class: "muted" }, "Loading…"));
  const load = async () => {
    let t;
    try { t = await api(`/api/topics/${enc(name)}`); } catch (e) { view.replaceChildren(h("h1", {}, name), errorBox(e)); return; }
    view.replaceChildren(
      h("h1", {}, "Topic ", h("span", { id: "topic-name" }, t.topic), " ", h("span", { class: `tag ${t.kind}` }, t.kind)),
      h("div", { class: "row card" },
        stat("messages kept", fmtNum(t.messageCount), "messageCount"),
        stat("put TPS (1 min)", fmtTps(t.putTps), "putTps"),
        stat("queues", t.queues.length, "queues"),
        h("div", {}, h("a", { href: `#/messages?topic=${enc(t.topic)}` }, "Search its messages")),
        h("button", { class: "danger", id: "delete-topic", onclick: async () => {
          if (!confirm(`Delete topic ${t.topic} and its queues on every broker?`)) return;
          try { await api(`/api/topics/${enc(t.topic)}`, { method: "DELETE" }); flash(`topic ${t.topic} deleted`); location.hash = "#/topics"; }
          catch (e) { flash(e.message, "error"); }
        } }, "Delete topic")),
      h("h2", {}, "Route"),
      table([
        { title: "Broker", key: "brokerName", cell: (b) => b.brokerName },
        { title: "Cluster", key: "cluster", cell: (b) => b.cluster },
        { title: "Addresses (by broker id)", key: "addrs", cell: (b) => Object.entries(b.addrs).map(([id, a]) => `${id}: ${a}`).join(", ") },
      ], t.brokers),
      table([
        { title: "Broker", key: "brokerName", cell: (q) => q.brokerName },
        { title: "Read queues", key: "readQueueNums", num: true, cell: (q) => q.readQueueNums },
        { title: "Write queues", key: "writeQueueNums", num: true, cell: (q) => q.writeQueueNums },
        { title: "Permission", key: "perm", cell: (q) => ({ 6: "read + write", 4: "read", 2: "write" })[q.perm] || q.perm },
      ], t.queueDatas),
      h("h2", {}, "Queue offsets"),
      table([
        { title: "Broker", key: "brokerName", cell: (q) => q.brokerName },
        { title: "Queue", key: "queueId", num: true, cell: (q) => q.queueId },
        { title: "Min offset", key: "minOffset", num: true, cell: (q) => fmtNum(q.minOffset) },
        { title: "Max offset", key: "maxOffset", num: true, cell: (q) => fmtNum(q.maxOffset) },
        { title: "Last stored", key: "lastUpdateTimestamp", cell: (q) => fmtTime(q.lastUpdateTimestamp) },
      ], t.queues),
      h("h2", {}, "Consumer groups"),
      t.consumerGroups.length === 0 ? h("p", { class: "muted" }, "No group consumes it yet.")
        : h("ul", {}, t.consumerGroups.map((g) => h("li", {}, h("a", { href: `#/group/${enc(g)}` }, g)))));
  };
  every(5000, load);
}

async function groupsView() {
  const list = h("div");
  let showSystem = false;
  const form = h("form", { id: "create-group", onsubmit: async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      const r = await api("/api/groups", { json: { group: f.get("group"), retryMaxTimes: +f.get("retry"), consumeMessageOrderly: f.get("orderly") === "on" } });
      flash(`group ${r.group} created on ${r.brokers.join(", ")}`);
      load();
    } catch (err) { flash(err.message, "error"); }
  } },
    h("label", {}, "Group", h("input", { name: "group", required: true })),
    h("label", {}, "Max retries", h("input", { name: "retry", type: "number", min: 0, max: 1000, value: 16 })),
    h("label", { class: "check" }, h("input", { name: "orderly", type: "checkbox" }), "orderly"),
    h("button", { type: "submit" }, "Create or update"));
  let groups = [];
  const draw = () => list.replaceChildren(table([
    { title: "Group", key: "group", cell: (g) => h("a", { href: `#/group/${enc(g.group)}` }, g.group) },
    { title: "Online clients", key: "clients", num: true, cell: (g) => g.clients },
    { title: "Lag", key: "lag", num: true, cell: (g) => fmtNum(g.lag) },
    { title: "Consume TPS (1 min)", key: "consumeTps", num: true, cell: (g) => fmtTps(g.consumeTps) },
    { title: "Type", key: "consumeType", cell: (g) => g.consumeType || "–" },
    { title: "Model", key: "messageModel", cell: (g) => g.messageModel || "–" },
    { title: "Orderly", key: "orderly", cell: (g) => (g.consumeMessageOrderly ? "yes" : "no") },
    { title: "Max retries", key: "retryMaxTimes", num: true, cell: (g) => g.retryMaxTimes },
  ], groups.filter((g) => showSystem || !g.system), (g) => ({ "data-group": g.group })));
  view.replaceChildren(h("h1", {}, "Consumer groups"), h("div", { class: "card" }, form),
    h("label", { class: "check", style: "margin-bottom:10px" },
      h("input", { type: "checkbox", onchange: (e) => { showSystem = e.target.checked; draw(); } }), "show system groups"), list);
  const load = async () => {
    try { groups = await api("/api/groups"); draw(); } catch (e) { list.replaceChildren(errorBox(e)); }
  };
  every(5000, load);
}

async function groupView(name) {
  view.replaceChildren(h("h1", {}, "Consumer group ", name), h("p", { class: "muted" }, "Loading…"));
  let resetForm = null;
  const load = async () => {
    let g;
    try { g = await api(`/api/groups/${enc(name)}`); } catch (e) { view.replaceChildren(h("h1", {}, name), errorBox(e)); return; }
    const topics = [...new Set(g.progress.map((p) => p.topic).filter((t) => !t.startsWith("%RETRY%")))];
    const subs = g.connection ? Object.values(g.connection.subscriptionTable || {}) : [];
    for (const s of subs) if (!topics.includes(s.topic) && !s.topic.startsWith("%RETRY%")) topics.push(s.topic);
    if (!resetForm) {
      resetForm = h("form", { id: "reset-offset", onsubmit: async (e) => {
        e.preventDefault();
        const f = new FormData(e.target);
        if (!confirm(`Move group ${name}'s offsets on ${f.get("topic")} to ${f.get("time")}?`)) return;
        try {
          const r = await api(`/api/groups/${enc(name)}/reset-offset`, { json: { topic: f.get("topic"), timestamp: fromLocalInput(f.get("time")) } });
          flash(`offsets of ${r.queues.length} queues reset`);
          load();
        } catch (err) { flash(err.message, "error"); }
      } },
        h("label", {}, "Topic", h("select", { name: "topic" }, topics.map((t) => h("option", { value: t }, t)))),
        h("label", {}, "Consume from (stored at or after)", h("input", { name: "time", type: "datetime-local", value: toLocalInput(Date.now() - 3_600_000), required: true })),
        h("button", { type: "submit", class: "secondary" }, "Reset offset"));
    }
    view.replaceChildren(
      h("h1", {}, "Consumer group ", h("span", { id: "group-name" }, g.group)),
      h("div", { class: "row card" },
        stat("lag (messages)", fmtNum(g.lag), "lag"),
        stat("consume TPS (1 min)", fmtTps(g.consumeTps), "consumeTps"),
        stat("online clients", g.connection ? g.connection.connectionSet.length : 0, "clients"),
        h("button", { class: "danger", onclick: async () => {
          if (!confirm(`Delete group ${g.group} and its offsets on every broker?`)) return;
          try { await api(`/api/groups/${enc(g.group)}`, { method: "DELETE" }); flash(`group ${g.group} deleted`); location.hash = "#/groups"; }
          catch (e) { flash(e.message, "error"); }
        } }, "Delete group")),
      h("h2", {}, "Progress per queue"),
      table([
        { title: "Topic", key: "topic", cell: (p) => h("a", { href: `#/topic/${enc(p.topic)}` }, p.topic) },
        { title: "Broker", key: "brokerName", cell: (p) => p.brokerName },
        { title: "Queue", key: "queueId", num: true, cell: (p) => p.queueId },
        { title: "Broker offset", key: "brokerOffset", num: true, cell: (p) => fmtNum(p.brokerOffset) },
        { title: "Consumer offset", key: "consumerOffset", num: true, cell: (p) => fmtNum(p.consumerOffset) },
        { title: "Lag", key: "lag", num: true, cell: (p) => fmtNum(p.lag) },
        { title: "Last consumed (stored at)", key: "lastTimestamp", cell: (p) => fmtTime(p.lastTimestamp) },
      ], g.progress, (p) => ({ "data-queue": `${p.topic}/${p.brokerName}/${p.queueId}` })),
      h("h2", {}, "Clients"),
      table([
        { title: "Client id", key: "clientId", cell: (c) => c.clientId },
        { title: "Address", key: "clientAddr", cell: (c) => c.clientAddr },
        { title: "Language", key: "language", cell: (c) => c.language },
        { title: "Version", key: "version", num: true, cell: (c) => c.version },
      ], g.connection ? g.connection.connectionSet : []),
      h("h2", {}, "Subscriptions"),
      table([
        { title: "Topic", key: "topic", cell: (s) => s.topic },
        { title: "Expression", key: "subString", cell: (s) => `${s.expressionType || "TAG"}: ${s.subString}` },
      ], subs),
      h("h2", {}, "Reset offset"), h("div", { class: "card" }, resetForm));
  };
  every(3000, load);
}

async function producersView() {
  const q = query();
  const out = h("div");
  const form = h("form", { id: "producers", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    location.hash = `#/producers?topic=${enc(f.get("topic"))}&group=${enc(f.get("group"))}`;
  } },
    h("label", {}, "Topic", h("input", { name: "topic", required: true, value: q.topic || "" })),
    h("label", {}, "Producer group", h("input", { name: "group", required: true, value: q.group || "" })),
    h("button", { type: "submit" }, "Show producers"));
  view.replaceChildren(h("h1", {}, "Producers"),
    h("p", { class: "muted" }, "A broker knows producers by group: name the group and a topic it sends to."),
    h("div", { class: "card" }, form), out);
  if (q.topic && q.group) {
    try {
      const list = await api(`/api/producers?topic=${enc(q.topic)}&group=${enc(q.group)}`);
      out.replaceChildren(table([
        { title: "Client id", key: "clientId", cell: (c) => c.clientId },
        { title: "Address", key: "clientAddr", cell: (c) => c.clientAddr },
        { title: "Language", key: "language", cell: (c) => c.language },
        { title: "Version", key: "version", num: true, cell: (c) => c.version },
      ], list));
    } catch (e) { out.replaceChildren(errorBox(e)); }
  }
}

function messageTable(messages, topic) {
  return table([
    { title: "Message id", key: "msgId", cell: (m) => h("a", { href: `#/message?topic=${enc(topic || m.topic)}&id=${enc(m.msgId)}` }, m.msgId) },
    { title: "Tags", key: "tags", cell: (m) => m.tags || "" },
    { title: "Keys", key: "keys", cell: (m) => m.keys.join(" ") },
    { title: "Stored", key: "storeTimestamp", cell: (m) => fmtTime(m.storeTimestamp) },
    { title: "Queue", key: "queue", cell: (m) => `${m.brokerName}/${m.queueId}@${m.queueOffset}` },
    { title: "Size", key: "bodySize", num: true, cell: (m) => fmtNum(m.bodySize) },
  ], messages, (m) => ({ "data-msg-id": m.msgId }));
}

async function messagesView() {
  const q = query();
  const by = q.by || "time";
  const out = h("div");
  const tab = (k, label) => h("a", { href: `#/messages?by=${k}&topic=${enc(q.topic || "")}`, class: by === k ? "active" : "" }, label);
  const now = Date.now();
  const fields = {
    time: [h("label", {}, "Stored from", h("input", { name: "begin", type: "datetime-local", value: q.begin ? toLocalInput(+q.begin) : toLocalInput(now - 3_600_000) })),
      h("label", {}, "to", h("input", { name: "end", type: "datetime-local", value: q.end ? toLocalInput(+q.end) : toLocalInput(now + 60_000) }))],
    key: [h("label", {}, "Key", h("input", { name: "key", required: true, value: q.key || "" }))],
    id: [h("label", {}, "Message id", h("input", { name: "id", required: true, value: q.id || "", size: 36 }))],
  };
  const form = h("form", { id: "message-search", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const p = new URLSearchParams({ by, topic: f.get("topic") });
    if (by === "time") { p.set("begin", fromLocalInput(f.get("begin"))); p.set("end", fromLocalInput(f.get("end"))); }
    if (by === "key") p.set("key", f.get("key"));
    if (by === "id") p.set("id", f.get("id"));
    p.set("run", Date.now());
    location.hash = `#/messages?${p}`;
  } },
    h("label", {}, "Topic", h("input", { name: "topic", required: true, value: q.topic || "" })),
    fields[by], h("button", { type: "submit" }, "Search"));
  view.replaceChildren(h("h1", {}, "Messages"),
    h("div", { class: "tabs" }, tab("time", "By time"), tab("key", "By key"), tab("id", "By id")),
    h("div", { class: "card" }, form), out);
  if (!q.topic || !q.run) return;
  out.replaceChildren(h("p", { class: "muted" }, "Searching…"));
  try {
    if (by === "id") {
      location.hash = `#/message?topic=${enc(q.topic)}&id=${enc(q.id)}`;
      return;
    }
    const r = by === "key"
      ? await api(`/api/messages/by-key?topic=${enc(q.topic)}&key=${enc(q.key)}`)
      : await api(`/api/messages?topic=${enc(q.topic)}&begin=${q.begin}&end=${q.end}&limit=256`);
    out.replaceChildren(
      h("p", { class: "muted", id: "result-count" }, `${r.messages.length} message(s)${r.truncated ? " (more matched: narrow the search)" : ""}`),
      messageTable(r.messages, q.topic));
  } catch (e) { out.replaceChildren(errorBox(e)); }
}

function resendForm(m, topic, defaultGroup) {
  return h("form", { id: "resend", onsubmit: async (e) => {
    e.preventDefault();
    const group = new FormData(e.target).get("group");
    try {
      const r = await api("/api/messages/resend", { json: { topic, msgId: m.msgId, group } });
      flash(`sent again to group ${r.group} (${r.topic}, queue ${r.brokerName}/${r.queueId}@${r.queueOffset})`);
    } catch (err) { flash(err.message, "error"); }
  } },
    h("label", {}, "Consumer group", h("input", { name: "group", required: true, value: defaultGroup || "" })),
    h("button", { type: "submit", class: "secondary" }, "Resend to this group"));
}

async function messageView() {
  const q = query();
  view.replaceChildren(h("h1", {}, "Message"), h("p", { class: "muted" }, "Loading…"));
  let m;
  try { m = await api(`/api/messages/by-id?topic=${enc(q.topic)}&id=${enc(q.id)}`); }
  catch (e) { view.replaceChildren(h("h1", {}, "Message"), errorBox(e)); return; }
  const dlqGroup = m.topic.startsWith("%DLQ%") ? m.topic.slice(5) : "";
  const props = Object.entries(m.properties).sort();
  view.replaceChildren(
    h("h1", {}, "Message ", h("span", { id: "msg-id" }, m.msgId)),
    h("div", { class: "card" }, table([
      { title: "Field", key: "k", cell: (r) => r[0] },
      { title: "Value", key: "v", cell: (r) => r[1] },
    ], [["Topic", m.topic], ["Tags", m.tags || ""], ["Keys", m.keys.join(" ")], ["Offset message id", m.offsetMsgId],
      ["Queue", `${m.brokerName}/${m.queueId}@${m.queueOffset}`], ["CommitLog offset", m.commitLogOffset],
      ["Born", `${fmtTime(m.bornTimestamp)} at ${m.bornHost}`], ["Stored", `${fmtTime(m.storeTimestamp)} on ${m.storeHost}`],
      ["Reconsume times", m.reconsumeTimes], ["Body size", `${fmtNum(m.bodySize)} bytes`]])),
    h("h2", {}, "Body"), h("pre", { id: "msg-body" }, m.body),
    h("h2", {}, "Properties"),
    table([{ title: "Name", key: "name", cell: (p) => p[0] }, { title: "Value", key: "value", cell: (p) => p[1] }], props),
    h("h2", {}, "Resend"),
    h("p", { class: "muted" }, "Delivers a copy to one consumer group only (through its retry topic), with the same message id."),
    h("div", { class: "card" }, resendForm(m, q.topic, dlqGroup)),
    h("p", {}, h("a", { href: `#/trace?msgId=${enc(m.msgId)}&run=1` }, "Show its trace")));
}

async function traceView() {
  const q = query();
  const out = h("div");
  const form = h("form", { id: "trace-search", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    location.hash = `#/trace?msgId=${enc(f.get("msgId"))}&traceTopic=${enc(f.get("traceTopic"))}&run=${Date.now()}`;
  } },
    h("label", {}, "Message id", h("input", { name: "msgId", required: true, size: 36, value: q.msgId || "" })),
    h("label", {}, "Trace topic", h("input", { name: "traceTopic", value: q.traceTopic || "RMQ_SYS_TRACE_TOPIC" })),
    h("button", { type: "submit" }, "Show trace"));
  view.replaceChildren(h("h1", {}, "Message trace"),
    h("p", { class: "muted" }, "Recorded by clients with trace on (Java: enableMsgTrace; Petrel: enable_msg_trace)."),
    h("div", { class: "card" }, form), out);
  if (!q.msgId || !q.run) return;
  try {
    const t = await api(`/api/trace?msgId=${enc(q.msgId)}&traceTopic=${enc(q.traceTopic || "")}`);
    if (t.events.length === 0) { out.replaceChildren(h("p", { class: "muted", id: "trace-empty" }, `No trace records for ${t.msgId} in ${t.traceTopic}.`)); return; }
    const what = (e) => {
      if (e.type === "Pub") return `sent by producer group ${e.groupName} from ${e.clientHost} to ${e.topic}, stored on ${e.storeHost} (${e.costTimeMs} ms)`;
      if (e.type === "SubBefore") return `delivered to consumer group ${e.groupName} at ${e.clientHost}${e.retryTimes > 0 ? ` (retry ${e.retryTimes})` : ""}`;
      if (e.type === "SubAfter") return e.success ? `consumed by group ${e.groupName} at ${e.clientHost} in ${e.costTimeMs} ms`
        : `consumption failed in group ${e.groupName} at ${e.clientHost} after ${e.costTimeMs} ms (it will be retried)`;
      return `${e.type} by ${e.groupName}`;
    };
    out.replaceChildren(h("div", { class: "card" }, h("ul", { class: "timeline", id: "trace-timeline" }, t.events.map((e) =>
      // SubBefore records carry no outcome; only a failed send or consumption is marked.
      h("li", { class: e.success || e.type === "SubBefore" ? "" : "failed", "data-type": e.type },
        h("span", { class: "when" }, fmtTime(e.timestamp)), h("span", { class: "tag" }, e.type), " ", what(e))))));
  } catch (e) { out.replaceChildren(errorBox(e)); }
}

async function dlqView() {
  const q = query();
  const out = h("div");
  const form = h("form", { id: "dlq-search", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    location.hash = `#/dlq?group=${enc(f.get("group"))}&days=${enc(f.get("days"))}&run=${Date.now()}`;
  } },
    h("label", {}, "Consumer group", h("input", { name: "group", required: true, value: q.group || "" })),
    h("label", {}, "Died in the last (days)", h("input", { name: "days", type: "number", min: 1, max: 3650, value: q.days || 7 })),
    h("button", { type: "submit" }, "Show dead letters"));
  view.replaceChildren(h("h1", {}, "Dead-letter queue"),
    h("p", { class: "muted" }, "Messages a group gave up on after its retries. Resend gives one back to the group."),
    h("div", { class: "card" }, form), out);
  if (!q.group || !q.run) return;
  const topic = `%DLQ%${q.group}`;
  const end = Date.now() + 60_000, begin = end - (+q.days || 7) * 86_400_000;
  try {
    const r = await api(`/api/messages?topic=${enc(topic)}&begin=${begin}&end=${end}&limit=512`);
    out.replaceChildren(
      h("p", { class: "muted", id: "result-count" }, `${r.messages.length} dead message(s)${r.truncated ? " (more: narrow the range)" : ""}`),
      table([
        { title: "Message id", key: "msgId", cell: (m) => h("a", { href: `#/message?topic=${enc(topic)}&id=${enc(m.msgId)}` }, m.msgId) },
        { title: "Original topic", key: "origin", cell: (m) => m.properties.DLQ_ORIGIN_TOPIC || m.properties.RETRY_TOPIC || "–" },
        { title: "Keys", key: "keys", cell: (m) => m.keys.join(" ") },
        { title: "Died", key: "storeTimestamp", cell: (m) => fmtTime(m.storeTimestamp) },
        { title: "Retries", key: "reconsumeTimes", num: true, cell: (m) => m.reconsumeTimes },
        { title: "", key: "resend", cell: (m) => h("button", { class: "secondary", onclick: async (e) => {
          e.target.disabled = true;
          try {
            const s = await api("/api/messages/resend", { json: { topic, msgId: m.msgId, group: q.group } });
            flash(`${m.msgId} sent again to group ${s.group}`);
          } catch (err) { flash(err.message, "error"); e.target.disabled = false; }
        } }, "Resend") },
      ], r.messages, (m) => ({ "data-msg-id": m.msgId })));
  } catch (e) { out.replaceChildren(errorBox(e)); }
}

// ---- router --------------------------------------------------------------------------------

function route() {
  for (const t of timers) clearInterval(t);
  timers = [];
  const path = (location.hash || "#/cluster").slice(1).split("?")[0];
  const [, page, arg] = path.split("/");
  for (const a of document.querySelectorAll("#nav a")) {
    const v = a.dataset.view;
    a.classList.toggle("active", v === page || (v === "topics" && page === "topic") ||
      (v === "groups" && page === "group") || (v === "messages" && page === "message"));
  }
  const name = arg ? decodeURIComponent(arg) : "";
  const views = {
    cluster: clusterView, topics: topicsView, topic: () => topicView(name), groups: groupsView,
    group: () => groupView(name), producers: producersView, messages: messagesView,
    message: messageView, trace: traceView, dlq: dlqView,
  };
  (views[page] || clusterView)().catch((e) => view.replaceChildren(errorBox(e)));
}

window.addEventListener("hashchange", route);
route();
