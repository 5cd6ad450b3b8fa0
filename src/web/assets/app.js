// oauthscope: the live list of captured exchanges, grouped by login.
// Plain modern JavaScript, no dependencies. Data comes from /api/records
// (pages, newest first) and /api/events (server-sent events).
"use strict";
(() => {
  const PAGE = 300;
  const rows = new Map(); // id -> summary
  let nextBefore = null;
  let total = 0;
  let selected = null; // id
  const picked = new Set(); // ids ticked for "export selected"
  let lastPicked = null; // anchor of a shift-click range
  let live = false;

  const $ = (id) => document.getElementById(id);
  const table = $("list");
  const form = $("filters");
  const readOnly = document.body.dataset.readonly === "true";
  if (readOnly) $("clear").hidden = true;

  function filters() {
    const p = new URLSearchParams();
    for (const name of ["q", "kind", "host", "severity", "flow"]) {
      const v = form.elements[name].value.trim();
      if (v) p.set(name, v);
    }
    return p;
  }

  async function fetchPage(extra) {
    const p = filters();
    for (const [k, v] of Object.entries(extra)) p.set(k, v);
    const r = await fetch("/api/records?" + p.toString(), { credentials: "same-origin" });
    if (!r.ok) throw new Error(await r.text());
    return r.json();
  }

  // The store's trouble (exchanges lost to a full disk, damage) as a banner.
  function showTrouble(page) {
    const el = $("trouble");
    el.textContent = page.trouble ? "⚠ " + page.trouble : "";
    el.hidden = !page.trouble;
  }

  // Nothing is stored (and so no event comes) while the disk is full: ask
  // for the store's health every few seconds.
  setInterval(async () => {
    try {
      showTrouble(await fetchPage({ limit: 1 }));
    } catch (e) {
      /* the next load says it */
    }
  }, 3000);

  async function load() {
    try {
      const page = await fetchPage({ limit: PAGE });
      showTrouble(page);
      rows.clear();
      for (const s of page.records) rows.set(s.id, s);
      nextBefore = page.next_before;
      total = page.total;
      render(true);
    } catch (e) {
      $("status").textContent = "error: " + e.message;
    }
  }

  async function loadOlder() {
    if (!nextBefore) return;
    const page = await fetchPage({ limit: PAGE, before: nextBefore });
    for (const s of page.records) rows.set(s.id, s);
    nextBefore = page.next_before;
    total = page.total;
    render(false);
  }

  // A new exchange was stored: refresh its whole login (annotations of the
  // earlier exchanges may change with it).
  async function refreshFlow(flow) {
    const f = form.elements.flow.value.trim();
    if (f && f !== flow) return;
    const page = await fetchPage({ flow, limit: 1000 });
    for (const [id, s] of rows) if ((s.flow || s.id) === flow) rows.delete(id);
    for (const s of page.records) rows.set(s.id, s);
    total = page.total;
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    render(atBottom);
  }

  function timeOf(iso) {
    const d = new Date(iso);
    const p = (n, w = 2) => String(n).padStart(w, "0");
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  const SEV_RANK = { info: 1, warning: 2, error: 3 };

  function render(scroll) {
    const groups = new Map();
    const sorted = [...rows.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const s of sorted) {
      const key = s.flow || s.id;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(s);
    }
    for (const tb of table.querySelectorAll("tbody")) tb.remove();
    for (const [flow, list] of groups) {
      const tb = document.createElement("tbody");
      tb.className = "group";
      tb.dataset.flow = flow;
      const head = document.createElement("tr");
      head.className = "flowhead";
      const td = document.createElement("td");
      td.colSpan = 9;
      const a = document.createElement("a");
      a.href = "/flows/" + encodeURIComponent(flow);
      a.textContent = "login " + flow;
      td.appendChild(a);
      let worst = null;
      for (const s of list) if (s.severity && (!worst || SEV_RANK[s.severity] > SEV_RANK[worst])) worst = s.severity;
      const n = document.createElement("span");
      n.className = "muted";
      n.textContent = ` · ${list.length} exchange${list.length === 1 ? "" : "s"}`;
      td.appendChild(n);
      if (worst) {
        const b = document.createElement("span");
        b.className = "sev sev-" + worst;
        b.textContent = worst;
        td.appendChild(document.createTextNode(" "));
        td.appendChild(b);
      }
      head.appendChild(td);
      tb.appendChild(head);
      for (const s of list) {
        const tr = document.createElement("tr");
        tr.className = "row" + (s.severity ? " sev-" + s.severity : "");
        tr.dataset.id = s.id;
        tr.tabIndex = -1;
        const pick = document.createElement("input");
        pick.type = "checkbox";
        pick.className = "pick";
        pick.checked = picked.has(s.id);
        pick.setAttribute("aria-label", "select for export");
        pick.addEventListener("click", (e) => {
          e.stopPropagation();
          if (e.shiftKey && lastPicked) pickRange(lastPicked, s.id, pick.checked);
          else setPicked(s.id, pick.checked);
          lastPicked = s.id;
        });
        const pc = document.createElement("td");
        pc.className = "pickcell";
        pc.addEventListener("click", (e) => e.stopPropagation());
        pc.appendChild(pick);
        tr.appendChild(pc);
        if (picked.has(s.id)) tr.classList.add("picked");
        cell(tr, timeOf(s.time), "time");
        cell(tr, s.kind, "kind");
        cell(tr, s.method);
        cell(tr, s.host_path, "path");
        const st = cell(tr, s.status == null ? "ERR" : s.status, "status s" + (s.status ? Math.floor(s.status / 100) : 0));
        if (s.error) st.title = s.error;
        cell(tr, s.grant_type);
        cell(tr, s.flavour);
        const an = cell(tr, "", "ann");
        if (s.top) {
          const b = document.createElement("span");
          b.className = "sev sev-" + s.top.severity;
          b.textContent = s.top.code;
          an.appendChild(b);
          an.appendChild(document.createTextNode(" " + s.top.title));
        }
        if (s.id === selected) tr.classList.add("selected");
        tr.addEventListener("click", () => open(s.id));
        tb.appendChild(tr);
      }
      table.appendChild(tb);
    }
    $("empty").hidden = rows.size > 0;
    $("older-wrap").hidden = !nextBefore;
    exportLinks();
    pickedLinks();
    status();
    if (scroll) window.scrollTo(0, document.body.scrollHeight);
    // Milliseconds from navigation to the first rendered list (the benchmark reads it).
    if (!document.body.dataset.listShownMs) document.body.dataset.listShownMs = String(Math.round(performance.now()));
  }

  // Tick or untick one exchange for "export selected".
  function setPicked(id, on) {
    if (on) picked.add(id); else picked.delete(id);
    const tr = table.querySelector(`tr.row[data-id="${CSS.escape(id)}"]`);
    if (tr) {
      tr.classList.toggle("picked", on);
      const box = tr.querySelector("input.pick");
      if (box) box.checked = on;
    }
    pickedLinks();
  }

  // Shift-click: every row shown between the anchor and `id` takes `on`.
  function pickRange(from, id, on) {
    const ids = [...table.querySelectorAll("tr.row")].map((tr) => tr.dataset.id);
    let a = ids.indexOf(from), b = ids.indexOf(id);
    if (a < 0 || b < 0) { setPicked(id, on); return; }
    if (a > b) [a, b] = [b, a];
    for (const x of ids.slice(a, b + 1)) setPicked(x, on);
  }

  // "export selected" links: exactly the ticked exchanges, whatever their logins.
  function pickedLinks() {
    const wrap = $("picked");
    wrap.hidden = picked.size === 0;
    $("picked-count").textContent = `${picked.size} selected`;
    const ids = [...picked].sort().join(",");
    for (const a of wrap.querySelectorAll("a.export-picked")) {
      a.href = "/export?" + new URLSearchParams({ format: a.dataset.format, ids }).toString();
    }
  }

  // The export buttons take the login filter along: the whole capture, or one login.
  function exportLinks() {
    const flow = form.elements.flow.value.trim();
    for (const a of document.querySelectorAll("a.export")) {
      const p = new URLSearchParams({ format: a.dataset.format });
      if (flow) p.set("flow", flow);
      a.href = "/export?" + p.toString();
      a.textContent = "export " + (a.dataset.format === "har" ? "HAR" : "Markdown") + (flow ? " (this login)" : "");
    }
  }

  function status() {
    $("status").textContent = `${rows.size} shown · ${total} stored` + (live ? " · live" : readOnly ? " · read-only" : "");
  }

  function open(id) {
    location.href = "/exchanges/" + encodeURIComponent(id);
  }

  function move(step) {
    const all = [...table.querySelectorAll("tr.row")];
    if (!all.length) return;
    let i = all.findIndex((tr) => tr.dataset.id === selected);
    i = i < 0 ? (step > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, i + step));
    for (const tr of all) tr.classList.remove("selected");
    all[i].classList.add("selected");
    selected = all[i].dataset.id;
    all[i].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", (e) => {
    const typing = e.target instanceof Element && e.target.closest("input, select, textarea");
    if (e.key === "Escape" && typing) { e.target.blur(); return; }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "j") { move(1); e.preventDefault(); }
    else if (e.key === "k") { move(-1); e.preventDefault(); }
    else if (e.key === "Enter" && selected) { open(selected); e.preventDefault(); }
    else if (e.key === "x" && selected) { setPicked(selected, !picked.has(selected)); lastPicked = selected; e.preventDefault(); }
    else if (e.key === "/") { form.elements.q.focus(); e.preventDefault(); }
  });

  let timer = null;
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  });
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("older").addEventListener("click", loadOlder);
  $("unpick").addEventListener("click", () => {
    for (const id of [...picked]) setPicked(id, false);
    lastPicked = null;
  });

  $("clear").addEventListener("click", async () => {
    if (!confirm("Delete every captured exchange? This cannot be undone.")) return;
    const r = await fetch("/api/clear", { method: "POST", credentials: "same-origin" });
    if (!r.ok) { alert(await r.text()); return; }
    await load();
  });

  const pending = new Set();
  let flushTimer = null;
  function flushPending() {
    flushTimer = null;
    const flows = [...pending];
    pending.clear();
    if (flows.length > 20) { load(); return; }
    for (const f of flows) refreshFlow(f).catch(() => {});
  }

  function connect() {
    const es = new EventSource("/api/events");
    es.addEventListener("ready", () => {
      live = true;
      document.body.dataset.live = "on";
      status();
    });
    es.addEventListener("record", (e) => {
      const m = JSON.parse(e.data);
      pending.add(m.flow || m.id);
      // Coalesce bursts: one refresh per login per 150 ms, a full reload
      // when many logins changed at once.
      if (!flushTimer) flushTimer = setTimeout(flushPending, 150);
    });
    es.addEventListener("lagged", () => load());
    es.onerror = () => {
      live = false;
      document.body.dataset.live = "off";
      status();
    };
  }

  load().then(() => { if (!readOnly) connect(); });
})();
