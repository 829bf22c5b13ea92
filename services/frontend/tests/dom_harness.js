// Runs src/app.js against a tiny fake DOM and a scripted fetch (no browser needed) and prints, as JSON,
// what the user would see. Driven by tests/test_frontend_site.py: node dom_harness.js APP_JS SCENARIO_JSON
const fs = require("fs");
const vm = require("vm");
const [appPath, scenarioJson] = process.argv.slice(2);
const scenario = JSON.parse(scenarioJson);

function el(id) {
  return {
    id, textContent: "", hidden: id.endsWith("-error"), disabled: false, value: "", className: "",
    dataset: {}, children: [], listeners: {}, scrollTop: 0, scrollHeight: 0,
    addEventListener(type, fn) { this.listeners[type] = fn; },
    appendChild(child) { child.parent = this; this.children.push(child); return child; },
    remove() { if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this); },
    focus() {},
  };
}
const ids = ["info-error", "info-refresh", "chat-log", "chat-error", "chat-form", "chat-input", "chat-send"];
const elements = Object.fromEntries(ids.map((id) => [id, el(id)]));
const fields = ["service", "version", "image_tag"].map((f) => Object.assign(el("dd-" + f), { dataset: { field: f } }));
const requests = [];
const document = {
  getElementById: (id) => elements[id],
  querySelectorAll: () => fields,
  createElement: () => el("li"),
};
async function fetch(url, options = {}) {
  requests.push({ url, method: options.method || "GET", body: options.body ? JSON.parse(options.body) : null });
  const r = scenario[url];
  return { ok: r.status < 400, status: r.status, statusText: r.statusText || "", text: async () => r.body };
}
const context = vm.createContext({ document, fetch, JSON, console });
vm.runInContext(fs.readFileSync(appPath, "utf8"), context);
(async () => {
  await new Promise((r) => setTimeout(r, 0));
  for (const text of [].concat(scenario.chat ?? [])) {
    elements["chat-input"].value = text;
    await elements["chat-form"].listeners.submit({ preventDefault() {} });
  }
  console.log(JSON.stringify({
    info: Object.fromEntries(fields.map((f) => [f.dataset.field, f.textContent])),
    infoError: elements["info-error"].hidden ? null : elements["info-error"].textContent,
    chatError: elements["chat-error"].hidden ? null : elements["chat-error"].textContent,
    log: elements["chat-log"].children.map((c) => [c.className, c.textContent]),
    input: elements["chat-input"].value,
    requests,
  }));
})();
