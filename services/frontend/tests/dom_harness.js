// One browser tab, small enough to read: loads the built site over real HTTP from the origin the
// test serves it on, runs its scripts against a tiny DOM made from the page's own elements, and
// follows navigations (the sign-in redirect) over real HTTP too. It enforces what the browser
// would: the page's Content-Security-Policy (header and meta; connect-src and script-src, no
// inline scripts, no eval), per-tab sessionStorage that survives navigations, localStorage and
// cookies that are recorded so a test can prove nothing was stored there.
//
//   node dom_harness.js SCENARIO_JSON
//   scenario: {"origin": "http://127.0.0.1:PORT", "steps": [{"open": "/"}, {"click": "sign-in"},
//              {"follow": true}, {"chat": "hi"}, ...]}
// Prints JSON: {"snapshots": [what the user sees after each step], "requests": [every fetch],
//               "navigations": [...], "blocked": [CSP refusals]}.
"use strict";
const vm = require("vm");
const { webcrypto } = require("crypto");

const scenario = JSON.parse(process.argv[2]);
const siteOrigin = new URL(scenario.origin).origin;
const requests = [];
const navigations = [];
const blocked = [];
const cookies = [];
const localWrites = [];
const sessionData = new Map(); // one tab: survives navigations, like the browser's sessionStorage
const localData = new Map();
let page = null; // the page currently loaded: {context, elements, location, csp, pending}
let inflight = 0;

function storage(data, writes) {
  return {
    getItem: (k) => (data.has(String(k)) ? data.get(String(k)) : null),
    setItem: (k, v) => { data.set(String(k), String(v)); if (writes) writes.push([String(k), String(v)]); },
    removeItem: (k) => { data.delete(String(k)); },
    clear: () => data.clear(),
    key: (i) => [...data.keys()][i] ?? null,
    get length() { return data.size; },
  };
}

// --- Content-Security-Policy -------------------------------------------------------------------
function parsePolicy(text) {
  const policy = {};
  for (const part of String(text || "").split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) policy[name.toLowerCase()] = values;
  }
  return policy;
}

function allowedBy(policy, directive, url) {
  const sources = policy[directive] ?? policy["default-src"];
  if (!sources) return true;
  const origin = new URL(url).origin;
  return sources.some((s) => (s === "'self'" ? origin === siteOrigin : s.replace(/\/$/, "") === origin));
}

function allowed(directive, url) {
  return page.policies.every((p) => allowedBy(p, directive, url));
}

// --- DOM ---------------------------------------------------------------------------------------
function element(tag, attrs) {
  const id = (attrs.match(/\bid="([^"]*)"/) || [])[1] || "";
  const field = (attrs.match(/\bdata-field="([^"]*)"/) || [])[1];
  return {
    tagName: tag.toUpperCase(), id, hidden: /\shidden\b/.test(attrs), disabled: false, value: "", className: "",
    textContent: "", dataset: field ? { field } : {}, children: [], listeners: {}, scrollTop: 0, scrollHeight: 0,
    addEventListener(type, fn) { this.listeners[type] = fn; },
    appendChild(child) { child.parent = this; this.children.push(child); return child; },
    remove() { if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this); },
    focus() {},
  };
}

function parsePage(html) {
  const elements = [];
  for (const m of html.matchAll(/<([a-z0-9]+)(\s[^>]*)?>/gi)) {
    if (m[2] && /\b(id|data-field)="/.test(m[2])) elements.push(element(m[1], m[2]));
  }
  const meta = [...html.matchAll(/<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/gi)].map((m) => m[1]);
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => ({
    src: (m[1].match(/\bsrc="([^"]*)"/) || [])[1] || null, inline: m[2],
  }));
  return { elements, meta, scripts };
}

function makeDocument(elements) {
  return {
    getElementById: (id) => elements.find((e) => e.id === id) || null,
    querySelectorAll: (sel) => (sel.includes("[data-field]") ? elements.filter((e) => e.dataset.field) : []),
    createElement: (tag) => element(tag, ""),
    set cookie(value) { cookies.push(String(value)); },
    get cookie() { return ""; },
  };
}

// --- location, history, fetch --------------------------------------------------------------------
function makeLocation(href) {
  const loc = {
    get href() { return href; },
    set href(v) { loc.assign(v); },
    get origin() { return new URL(href).origin; },
    get pathname() { return new URL(href).pathname; },
    get search() { return new URL(href).search; },
    get hash() { return new URL(href).hash; },
    assign(v) { page.pending = new URL(String(v), href).toString(); },
    replace(v) { page.pending = new URL(String(v), href).toString(); },
    toString() { return href; },
    _set(v) { href = v; },
  };
  return loc;
}

const history = {
  replaceState(_state, _title, url) {
    const next = new URL(String(url), page.location.href);
    if (next.origin !== siteOrigin) throw new Error("SecurityError: replaceState to another origin");
    page.location._set(next.toString());
  },
  pushState(state, title, url) { history.replaceState(state, title, url); },
};

function headerObject(headers) {
  const out = {};
  for (const [k, v] of new Headers(headers || {})) out[k.toLowerCase()] = v;
  return out;
}

async function pageFetch(input, options = {}) {
  const url = new URL(String(input), page.location.href).toString();
  const method = (options.method || "GET").toUpperCase();
  if (!allowed("connect-src", url)) {
    blocked.push({ directive: "connect-src", url });
    throw new TypeError("Failed to fetch (refused by the Content-Security-Policy connect-src)");
  }
  requests.push({ url, method, headers: headerObject(options.headers), body: options.body ?? null });
  inflight += 1;
  try {
    return await fetch(url, { method, headers: options.headers, body: options.body, redirect: "follow" });
  } finally {
    inflight -= 1;
  }
}

// --- page loads and navigations ------------------------------------------------------------------
async function settle() {
  // Wait until no fetch has been in flight for a few turns of the event loop (crypto digests and
  // JSON parsing resolve in between).
  for (let idle = 0; idle < 5;) {
    await new Promise((r) => setTimeout(r, 10));
    idle = inflight === 0 ? idle + 1 : 0;
  }
}

async function load(href) {
  navigations.push(href);
  const response = await fetch(href, { redirect: "manual" });
  const html = await response.text();
  const parsed = parsePage(html);
  const policies = [response.headers.get("content-security-policy"), ...parsed.meta].filter(Boolean).map(parsePolicy);
  const location = makeLocation(href);
  page = { elements: parsed.elements, location, policies, pending: null };
  const context = vm.createContext({
    document: makeDocument(parsed.elements), location, history, fetch: pageFetch,
    sessionStorage: storage(sessionData, null), localStorage: storage(localData, localWrites),
    crypto: webcrypto, TextEncoder, TextDecoder, URL, URLSearchParams, Headers, btoa, atob, console,
    setTimeout, clearTimeout,
  }, { codeGeneration: { strings: false, wasm: false } }); // script-src without 'unsafe-eval'
  page.context = context;
  for (const script of parsed.scripts) {
    if (!script.src) {
      blocked.push({ directive: "script-src", url: "inline" });
      continue;
    }
    const src = new URL(script.src, href).toString();
    if (!allowed("script-src", src)) {
      blocked.push({ directive: "script-src", url: src });
      continue;
    }
    requests.push({ url: src, method: "GET", headers: {}, body: null });
    const code = await (await fetch(src)).text();
    vm.runInContext(code, context, { filename: src });
  }
  await settle();
}

// A top-level navigation: hops off the site are fetched without following redirects, as the
// browser would show them; a hop back to the site loads the page there.
async function follow() {
  let url = page.pending;
  page.pending = null;
  for (let hops = 0; hops < 10 && url; hops++) {
    if (new URL(url).origin === siteOrigin) return load(url);
    navigations.push(url);
    const response = await fetch(url, { redirect: "manual" });
    const next = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || !next) {
      page = { elements: [], location: makeLocation(url), policies: [], pending: null };
      return undefined;
    }
    url = new URL(next, url).toString();
  }
  throw new Error("too many redirects");
}

function visible(id) {
  const e = page.elements.find((x) => x.id === id);
  return e && !e.hidden ? e.textContent : null;
}

function shown(id) {
  const e = page.elements.find((x) => x.id === id);
  return Boolean(e && !e.hidden);
}

function snapshot(step) {
  const byId = (id) => page.elements.find((x) => x.id === id);
  const log = byId("chat-log");
  return {
    step, url: page.location.href, navigation: page.pending,
    auth: shown("auth"), signIn: shown("sign-in"), signOut: shown("sign-out"), user: visible("auth-user"),
    authError: visible("auth-error"), infoError: visible("info-error"), chatError: visible("chat-error"),
    info: Object.fromEntries(page.elements.filter((e) => e.dataset.field).map((e) => [e.dataset.field, e.textContent])),
    log: log ? log.children.map((c) => [c.className, c.textContent]) : [],
    input: byId("chat-input") ? byId("chat-input").value : null,
    sessionStorage: Object.fromEntries(sessionData), localStorage: Object.fromEntries(localData),
  };
}

async function run(step) {
  if (step.open) return load(new URL(step.open, siteOrigin).toString());
  if (step.follow) return follow();
  if (step.click) {
    const target = page.elements.find((x) => x.id === step.click);
    if (!target || target.hidden) throw new Error(`#${step.click} is not shown`);
    await target.listeners.click({ preventDefault() {} });
    return settle();
  }
  if (step.chat !== undefined) {
    page.elements.find((x) => x.id === "chat-input").value = step.chat;
    await page.elements.find((x) => x.id === "chat-form").listeners.submit({ preventDefault() {} });
    return settle();
  }
  throw new Error(`unknown step ${JSON.stringify(step)}`);
}

(async () => {
  const snapshots = [];
  for (const step of scenario.steps) {
    await run(step);
    snapshots.push(snapshot(step));
  }
  console.log(JSON.stringify({ snapshots, requests, navigations, blocked, cookies, localWrites }));
})().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
