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
  let everLive = false; // a catch-up reload is due when the feed comes back
  let es = null; // the EventSource
  let retryTimer = null;
  let retryDelay = 1000;
  const otherOpen = { value: false }; // the folded "other requests" group
  const wide = window.matchMedia("(min-width: 1200px)");

  const $ = (id) => document.getElementById(id);
  const table = $("list");
  const form = $("filters");
  const readOnly = document.body.dataset.readonly === "true";

  // A failed action or read says why, in the page (not in an alert box).
  function notice(text) {
    const n = $("notice");
    n.textContent = text || "";
    n.hidden = !text;
  }

  // The connection indicator: live, reconnecting, or stopped.
  function setConn(state, label, title) {
    const c = $("conn");
    c.dataset.state = state;
    c.textContent = label;
    if (title) c.title = title;
    document.body.dataset.live = state === "live" ? "on" : "off";
  }

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
      notice("");
    } catch (e) {
      notice("Could not read the capture: " + (e.message || e));
    }
  }

  async function loadOlder() {
    if (!nextBefore) return;
    let page;
    try {
      page = await fetchPage({ limit: PAGE, before: nextBefore });
    } catch (e) {
      notice("Could not read older exchanges: " + (e.message || e));
      return;
    }
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

  // A row that failed: no response, an HTTP error, or an error hidden in a 2xx.
  function failed(s) {
    return s.status == null || s.status >= 400 || (s.top && s.top.severity === "error" && s.top.code.startsWith("error."));
  }

  // A login's top line: its outcome (failed / recovered / succeeded) and
  // its headline cause (the first diagnosis, else the worst annotation).
  function outcomeOf(list) {
    let sawFailure = false;
    let last = null;
    for (const s of list) {
      if (s.one_off) continue;
      const f = failed(s);
      if (f) sawFailure = true;
      last = f;
    }
    const outcome = last ? "failed" : sawFailure ? "recovered" : "succeeded";
    let cause = null;
    for (const s of list) {
      if (!s.top) continue;
      const diag = s.top.code.startsWith("diagnosis.");
      const better = !cause
        || (diag && !cause.top.code.startsWith("diagnosis."))
        || (diag === cause.top.code.startsWith("diagnosis.") && SEV_RANK[s.top.severity] > SEV_RANK[cause.top.severity]);
      if (better) cause = s;
    }
    if (cause && outcome === "succeeded" && cause.top.severity === "info") cause = null;
    return { outcome, cause };
  }

  function render(scroll) {
    const groups = new Map();
    const sorted = [...rows.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const s of sorted) {
      const key = s.group || s.flow || s.id;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(s);
    }
    for (const tb of table.querySelectorAll("tbody")) tb.remove();
    // Logins first, in time order; the one-off requests that serve none
    // gather in one folded group at the end.
    const order = [...groups.keys()].filter((k) => k !== "other");
    if (groups.has("other")) order.push("other");
    for (const flow of order) {
      const list = groups.get(flow);
      const other = flow === "other";
      const tb = document.createElement("tbody");
      tb.className = "group" + (other ? " other" : "") + (other && !otherOpen.value ? " folded" : "");
      tb.dataset.flow = flow;
      const head = document.createElement("tr");
      head.className = "flowhead";
      const td = document.createElement("td");
      td.colSpan = 9;
      let worst = null;
      for (const s of list) if (s.severity && (!worst || SEV_RANK[s.severity] > SEV_RANK[worst])) worst = s.severity;
      if (other) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "fold";
        b.setAttribute("aria-expanded", String(otherOpen.value));
        b.textContent = `${otherOpen.value ? "▾" : "▸"} other requests · ${list.length} (discovery, JWKS, userinfo … that serve no login seen nearby)`;
        b.addEventListener("click", () => { otherOpen.value = !otherOpen.value; render(false); });
        td.appendChild(b);
      } else {
        const { outcome, cause } = outcomeOf(list);
        const o = document.createElement("span");
        o.className = "outcome o-" + outcome;
        o.textContent = outcome;
        td.appendChild(o);
        td.appendChild(document.createTextNode(" "));
        const a = document.createElement("a");
        a.href = "/flows/" + encodeURIComponent(flow);
        a.textContent = "login " + flow.slice(-8);
        a.title = "login " + flow;
        td.appendChild(a);
        const n = document.createElement("span");
        n.className = "muted";
        n.textContent = ` · ${list.length} exchange${list.length === 1 ? "" : "s"}`;
        td.appendChild(n);
        if (cause) {
          const c = document.createElement("span");
          c.className = "cause";
          const b = document.createElement("span");
          b.className = "sev sev-" + cause.top.severity;
          b.textContent = cause.top.code;
          c.appendChild(b);
          c.appendChild(document.createTextNode(" " + cause.top.title));
          td.appendChild(c);
        } else if (worst && !(worst === "info" && outcome === "succeeded")) {
          const b = document.createElement("span");
          b.className = "sev sev-" + worst;
          b.textContent = worst;
          td.appendChild(document.createTextNode(" "));
          td.appendChild(b);
        }
      }
      head.appendChild(td);
      tb.appendChild(head);
      for (const s of list) {
        const tr = document.createElement("tr");
        tr.className = "row" + (s.severity ? " sev-" + s.severity : "") + (s.one_off ? " oneoff" : "");
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
        cell(tr, s.method, "method");
        cell(tr, s.host_path, "path");
        const st = cell(tr, s.status == null ? "ERR" : s.status, "status s" + (s.status ? Math.floor(s.status / 100) : 0));
        if (s.error) st.title = s.error;
        cell(tr, s.grant_type, "grant");
        cell(tr, s.flavour, "flavour");
        const an = cell(tr, "", "ann");
        if (s.top) {
          const b = document.createElement("span");
          b.className = "sev sev-" + s.top.severity;
          b.textContent = s.top.code;
          an.appendChild(b);
          an.appendChild(document.createTextNode(" " + s.top.title));
        }
        if (s.id === selected) tr.classList.add("selected");
        tr.addEventListener("click", () => {
          if (wide.matches) select(s.id); else open(s.id);
        });
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
    $("status").textContent = `${rows.size} shown · ${total} stored`;
  }

  function open(id) {
    location.href = "/exchanges/" + encodeURIComponent(id);
  }

  // The side pane (wide screens): the selected exchange, read in place.
  let paneFor = null;
  async function showPane(id) {
    if (!wide.matches || paneFor === id) return;
    paneFor = id;
    const pane = $("pane");
    try {
      const r = await fetch("/exchanges/" + encodeURIComponent(id) + "?pane=1", { credentials: "same-origin" });
      const text = await r.text();
      if (paneFor !== id) return;
      if (!r.ok) { pane.textContent = text; return; }
      pane.innerHTML = `<p class="paneopen"><a href="/exchanges/${encodeURIComponent(id)}">open on its own page ↗</a></p>` + text;
      pane.dataset.id = id;
      pane.scrollTop = 0;
      alignCarets(pane);
    } catch (e) {
      notice("Could not read exchange " + id + ": " + (e.message || e));
    }
  }

  function select(id) {
    selected = id;
    for (const tr of table.querySelectorAll("tr.row")) tr.classList.toggle("selected", tr.dataset.id === id);
    const tr = table.querySelector(`tr.row[data-id="${CSS.escape(id)}"]`);
    if (tr) tr.scrollIntoView({ block: "nearest" });
    showPane(id);
  }

  function move(step) {
    const all = [...table.querySelectorAll("tr.row")].filter((tr) => tr.offsetParent !== null);
    if (!all.length) return;
    let i = all.findIndex((tr) => tr.dataset.id === selected);
    i = i < 0 ? (step > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, i + step));
    select(all[i].dataset.id);
  }

  // Scroll each expected/actual box so its caret is in view.
  function alignCarets(root) {
    for (const box of root.querySelectorAll("pre.diffbox")) {
      const caret = box.querySelector(".caret");
      if (!caret) continue;
      const over = caret.offsetLeft + 40 - box.clientWidth;
      if (over > 0) box.scrollLeft = over;
    }
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

  if ($("clear")) $("clear").addEventListener("click", async () => {
    if (!confirm("Delete every captured exchange? This cannot be undone.")) return;
    let r;
    try {
      r = await fetch("/api/clear", { method: "POST", credentials: "same-origin" });
    } catch (e) {
      notice("Clearing failed: the proxy did not answer (" + (e.message || e) + ").");
      return;
    }
    if (!r.ok) { notice("Clearing failed: " + (await r.text()).trim()); return; }
    notice("");
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

  // The live feed. On a lost connection (the proxy stopped or restarted)
  // the indicator says "reconnecting" and the page retries with backoff;
  // when the feed is back it reloads the list (catch-up: what was recorded
  // meanwhile) and says "live" again.
  function connect() {
    if (es) es.close();
    es = new EventSource("/api/events");
    es.addEventListener("ready", () => {
      const catchUp = everLive;
      everLive = true;
      live = true;
      retryDelay = 1000;
      setConn("live", "live", "recording: new exchanges appear as they happen");
      if (catchUp) load();
    });
    es.addEventListener("record", (e) => {
      const m = JSON.parse(e.data);
      pending.add(m.flow || m.id);
      // Coalesce bursts: one refresh per login per 150 ms, a full reload
      // when many logins changed at once.
      if (!flushTimer) flushTimer = setTimeout(flushPending, 150);
    });
    es.addEventListener("lagged", () => load());
    es.addEventListener("bye", () => lost("the proxy stopped; reconnecting when it is back…"));
    es.onerror = () => lost("connection to the proxy lost; reconnecting…");
  }

  function lost(why) {
    if (es) { es.close(); es = null; }
    live = false;
    setConn("reconnecting", "reconnecting…", why);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(probe, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 5000);
  }

  // Is the UI back (and does it still take our cookie)?
  async function probe() {
    let r;
    try {
      r = await fetch("/api/records?limit=1", { credentials: "same-origin", cache: "no-store" });
    } catch (e) {
      lost("the proxy is not answering; reconnecting…");
      return;
    }
    if (r.status === 401 || r.status === 403) {
      setConn("stopped", "stopped", "the proxy answers but not to this page's token: open the web UI address it printed");
      notice("The proxy restarted with another token: open the web UI address it printed (oauthscope ui).");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(probe, 5000);
      return;
    }
    notice("");
    connect();
  }

  window.addEventListener("resize", () => { if (wide.matches && selected) showPane(selected); });
  load().then(() => { if (!readOnly) connect(); });
})();
