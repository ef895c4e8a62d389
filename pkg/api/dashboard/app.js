// berth dashboard: polls the JSON API every 2 seconds and draws, for every
// entrypoint, the path of a request: router (rule) → middlewares → service
// → servers, with health and request rates, and every configuration
// problem with the file line or container label it comes from.
// Everything is built with DOM calls (never innerHTML), so names and rules
// from the configuration cannot inject markup.
"use strict";

const POLL_MS = 2000;
const api = (path) => fetch("../api/" + path, { cache: "no-store" }).then((r) => {
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
});

let paused = false;
let prev = null; // { t, routers: {name: requests}, servers: {key: requests} }
let last = null; // last data, to redraw on filter changes

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function qualify(ref, provider) {
  if (!ref || ref.includes("@") || !provider) return ref;
  return ref + "@" + provider;
}

function badge(status) {
  return el("span", { class: "badge " + status, text: status });
}

function fmtRate(r) {
  if (r === undefined || r === null) return "–";
  if (r === 0) return "0 req/s";
  if (r < 0.1) return r.toFixed(2) + " req/s";
  if (r < 10) return r.toFixed(1) + " req/s";
  return Math.round(r) + " req/s";
}

function card(title, counts, extra) {
  const parts = [];
  if (counts.warnings) parts.push(counts.warnings + " warning" + (counts.warnings > 1 ? "s" : ""));
  if (counts.errors) parts.push(counts.errors + " disabled");
  return el("li", { class: "card" },
    el("div", { class: "sub", text: title }),
    el("div", { class: "n", text: String(counts.total) }),
    el("div", { class: "sub", text: extra || (parts.length ? parts.join(", ") : "all enabled") }));
}

function renderSummary(d) {
  const ov = d.overview;
  const h = ov.http;
  const cards = document.getElementById("cards");
  const p = ov.problems;
  cards.replaceChildren(
    card("Routers", h.routers),
    card("Services", h.services),
    card("Middlewares", h.middlewares),
    card("Problems", { total: p.total }, p.total ? `${p.errors} disabling, ${p.warnings} warnings` : "none"),
    card("Total rate", { total: fmtRate(d.totalRate) }, "all routers, last 2 s"),
  );
}

function renderProblems(d) {
  const list = document.getElementById("problems");
  document.getElementById("problems-count").textContent = d.problems.length ? "(" + d.problems.length + ")" : "";
  document.getElementById("problems-empty").hidden = d.problems.length > 0;
  list.replaceChildren(...d.problems.map((p, i) => el("li", { class: "problem " + p.status, id: "problem-" + i },
    el("div", {}, badge(p.status),
      el("span", { class: "where", text: p.source || "(no source)" })),
    p.object ? el("div", { class: "obj" }, (p.kind || "object") + " ", el("strong", { text: p.object }),
      p.provider ? " · provider " + p.provider : "",
      p.key ? el("span", {}, " · key ", el("code", { text: p.key })) : "",
      p.fatal ? " · this object is disabled" : "") : (p.provider ? el("div", { class: "obj", text: "provider " + p.provider }) : null),
    el("div", { class: "msg", text: p.message }))));
}

function serverList(svc, d) {
  if (!svc) return el("div", { class: "muted", text: "unknown service" });
  if (!svc.servers || !svc.servers.length) {
    return el("div", { class: "muted", text: svc.status === "disabled" ? "service disabled" : "no servers" });
  }
  return el("ul", { class: "servers" }, svc.servers.map((s) => {
    const key = svc.name + " " + s.url;
    const rate = d.serverRates[key];
    return el("li", {},
      el("span", { class: "dot " + (s.up ? "up" : "down"), "aria-hidden": "true" }),
      el("span", { class: "visually-hidden", text: s.up ? "up" : "down" }),
      el("span", { class: "url", text: s.url }),
      el("span", { class: "rate", text: `${s.inFlight} in flight · ${fmtRate(rate)}` }));
  }));
}

function problemLinks(name, d) {
  const idx = [];
  d.problems.forEach((p, i) => { if (p.object === name) idx.push(i); });
  return idx;
}

function routeRow(r, d) {
  const svcName = qualify(r.service, r.provider);
  const svc = d.servicesByName[svcName];
  const mws = (r.middlewares || []).map((m) => qualify(m, r.provider));
  const rate = d.routerRates[r.name];
  const row = el("article", { class: "route " + r.status, "aria-label": "router " + r.name },
    el("div", { class: "hop" },
      el("div", { class: "label", text: "router" }),
      el("div", { class: "name" }, badge(r.status), r.name),
      el("div", { class: "rule", text: r.rule || "(no rule)" }),
      el("div", { class: "rate", text: `${fmtRate(rate)} · priority ${r.priority}` + (r.tls ? " · TLS" : "") })),
    el("div", { class: "hop" },
      el("div", { class: "label", text: "middlewares" }),
      mws.length ? el("div", { class: "chips" }, mws.map((m) => {
        const info = d.middlewaresByName[m];
        return el("span", { class: "chip", title: info ? info.type + " (" + info.status + ")" : "missing" },
          m + (info && info.status !== "enabled" ? " ⚠" : ""));
      })) : el("div", { class: "muted", text: "none" })),
    el("div", { class: "hop" },
      el("div", { class: "label", text: "service" }),
      el("div", { class: "name" }, svc ? badge(svc.status) : null, svcName || "(none)"),
      svc && svc.loadBalancer ? el("div", { class: "rate", text: (svc.loadBalancer.strategy || "wrr") }) : null),
    el("div", { class: "hop" },
      el("div", { class: "label", text: "servers" }),
      svcName && svcName.endsWith("@internal") ? el("div", { class: "muted", text: "served by berth" }) : serverList(svc, d)));
  if (r.error && r.error.length) {
    const links = problemLinks(r.name, d);
    row.append(el("div", { class: "err", role: "note" },
      r.source ? el("span", { class: "where", text: r.source + ": " }) : null,
      r.error.join("; "),
      links.length ? el("span", {}, " — ", el("a", { href: "#problem-" + links[0], text: "see problem" })) : null));
  }
  return row;
}

function matches(r, search, status) {
  if (status && r.status !== status) return false;
  if (!search) return true;
  const hay = [r.name, r.rule, r.service, r.provider, ...(r.middlewares || [])].join(" ").toLowerCase();
  return hay.includes(search);
}

function renderRoutes(d) {
  const search = document.getElementById("search").value.trim().toLowerCase();
  const status = document.getElementById("status").value;
  const internal = document.getElementById("internal").checked;
  const root = document.getElementById("routes");
  const groups = [];
  const placed = new Set();
  for (const ep of d.entrypoints) {
    const rs = d.routers.filter((r) => (r.using || r.entryPoints || []).includes(ep.name));
    rs.forEach((r) => placed.add(r.name));
    groups.push({ title: ep.name, addr: ep.address, routers: rs });
  }
  const rest = d.routers.filter((r) => !placed.has(r.name));
  if (rest.length) groups.push({ title: "", addr: "", routers: rest });
  const sections = [];
  for (const g of groups) {
    const shown = g.routers.filter((r) => (internal || r.provider !== "internal") && matches(r, search, status));
    if (!shown.length) continue;
    sections.push(el("section", { class: "ep", "aria-label": g.title ? "entrypoint " + g.title : "routers on no entrypoint" },
      g.title ? el("h3", {}, "entrypoint ", el("strong", { text: g.title }), " ", el("span", { class: "addr", text: g.addr || "" }))
        : el("h3", { text: "Routers on no entrypoint (disabled before placement)" }),
      shown.map((r) => routeRow(r, d))));
  }
  if (!sections.length) sections.push(el("p", { class: "muted", text: "No router matches." }));
  root.replaceChildren(...sections);
}

function render(d) {
  renderSummary(d);
  renderProblems(d);
  renderRoutes(d);
}

async function poll() {
  if (paused) return;
  try {
    const [overview, entrypoints, routers, services, middlewares, problems] = await Promise.all([
      api("overview"), api("entrypoints"), api("http/routers?per_page=10000"),
      api("http/services?per_page=10000"), api("http/middlewares?per_page=10000"), api("problems?per_page=10000"),
    ]);
    const now = performance.now();
    const cur = { t: now, routers: {}, servers: {} };
    for (const r of routers) cur.routers[r.name] = r.stats ? r.stats.requests : 0;
    for (const s of services) for (const sv of s.servers || []) cur.servers[s.name + " " + sv.url] = sv.requests;
    const routerRates = {}, serverRates = {};
    let totalRate;
    if (prev) {
      const dt = (now - prev.t) / 1000;
      totalRate = 0;
      for (const [k, v] of Object.entries(cur.routers)) {
        if (k in prev.routers && dt > 0) {
          routerRates[k] = Math.max(0, v - prev.routers[k]) / dt;
          if (!k.endsWith("@internal")) totalRate += routerRates[k];
        }
      }
      for (const [k, v] of Object.entries(cur.servers)) {
        if (k in prev.servers && dt > 0) serverRates[k] = Math.max(0, v - prev.servers[k]) / dt;
      }
    }
    prev = cur;
    const servicesByName = Object.fromEntries(services.map((s) => [s.name, s]));
    const middlewaresByName = Object.fromEntries(middlewares.map((m) => [m.name, m]));
    last = { overview, entrypoints, routers, services, problems, servicesByName, middlewaresByName, routerRates, serverRates, totalRate };
    render(last);
    document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString() +
      " · configuration generation " + overview.generation;
    document.body.dataset.generation = String(overview.generation);
  } catch (e) {
    document.getElementById("updated").textContent = "Cannot reach the API: " + e.message;
  }
}

document.getElementById("pause").addEventListener("click", (ev) => {
  paused = !paused;
  ev.currentTarget.setAttribute("aria-pressed", String(paused));
  ev.currentTarget.textContent = paused ? "Resume updates" : "Pause updates";
  if (!paused) poll();
});
for (const id of ["search", "status", "internal"]) {
  const e = document.getElementById(id);
  e.addEventListener(e.type === "checkbox" ? "change" : "input", () => { if (last) renderRoutes(last); });
}
api("version").then((v) => { document.getElementById("version").textContent = "version " + v.Version; }).catch(() => {});
poll();
setInterval(poll, POLL_MS);
