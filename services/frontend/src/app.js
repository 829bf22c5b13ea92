// Talks to both APIs through the page's own origin: CloudFront routes /api/* and /inference/*
// to the load balancer, so relative URLs keep the page free of environment-specific hosts.
"use strict";

const INFO_URL = "/api/info";
const CHAT_URL = "/inference/chat";

/** An HTTP failure with what the user needs to see: the status and the API's `detail`. */
class ApiError extends Error {
  constructor(status, statusText, detail) {
    super(`HTTP ${status}${statusText ? " " + statusText : ""}${detail ? ": " + detail : ""}`);
    this.status = status;
    this.detail = detail;
  }
}

// FastAPI sends {"detail": "text"} for HTTPException and {"detail": [{loc, msg, ...}]} for
// validation errors; the inference API reports model failures as {"error": {code, message}}.
// Anything else (an ALB 502 HTML page, say) has no detail worth showing.
function describeDetail(body) {
  if (!body || typeof body !== "object") return "";
  const error = body.error;
  if (error && typeof error === "object" && typeof error.message === "string") {
    return error.code ? `${error.code}: ${error.message}` : error.message;
  }
  if (!("detail" in body)) return "";
  const detail = body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => (d && typeof d === "object" && "msg" in d ? String(d.msg) : JSON.stringify(d))).join("; ");
  }
  return JSON.stringify(detail);
}

// Every call carries the bearer token when the user is signed in (auth.js keeps it in memory).
async function requestJson(url, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}), ...siteAuth.headers() };
  let response;
  try {
    response = await fetch(url, { ...options, headers });
  } catch (err) {
    throw new Error(`network error: ${err.message}`);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (response.status === 401) {
    siteAuth.rejected(); // missing or expired token: offer sign-in again
    if (siteAuth.enabled()) throw new ApiError(401, "", "sign in to continue");
  }
  if (!response.ok) throw new ApiError(response.status, response.statusText, describeDetail(body));
  if (body === null) throw new Error(`HTTP ${response.status}: response was not JSON`);
  return body;
}

function showError(element, err) {
  element.textContent = err instanceof Error ? err.message : String(err);
  element.hidden = false;
}

function clearError(element) {
  element.textContent = "";
  element.hidden = true;
}

function pick(obj, ...keys) {
  for (const key of keys) {
    if (obj && obj[key] !== undefined && obj[key] !== null && obj[key] !== "") return String(obj[key]);
  }
  return "unknown";
}

async function loadInfo() {
  const errorBox = document.getElementById("info-error");
  const button = document.getElementById("info-refresh");
  button.disabled = true;
  clearError(errorBox);
  try {
    const info = await requestJson(INFO_URL);
    const values = {
      service: pick(info, "service", "name"),
      version: pick(info, "version"),
      image_tag: pick(info, "image_tag", "imageTag", "image"),
    };
    for (const dd of document.querySelectorAll("#info [data-field]")) {
      dd.textContent = values[dd.dataset.field];
    }
  } catch (err) {
    showError(errorBox, err);
  } finally {
    button.disabled = false;
  }
}

// The contract is {"message": {"role": "assistant", "content": "..."}}; `text` and `output`
// are accepted too so a model-side change of shape degrades to a visible reply, not a blank.
function assistantText(body) {
  const message = body && body.message;
  if (message && typeof message === "object" && typeof message.content === "string") return message.content;
  if (typeof message === "string") return message;
  for (const key of ["text", "output", "content"]) {
    if (body && typeof body[key] === "string") return body[key];
  }
  throw new Error("the reply had no assistant text");
}

// The API takes at most 100 messages alternating from a user turn: keep an even number of
// past messages so the oldest kept one is still a user turn, plus the new one.
const MAX_HISTORY = 98;
// Not named `history`: a global of that name would hide window.history from auth.js.
const chatHistory = [];

function appendMessage(role, content) {
  const item = document.createElement("li");
  item.className = role;
  item.textContent = content;
  const log = document.getElementById("chat-log");
  log.appendChild(item);
  log.scrollTop = log.scrollHeight;
  return item;
}

async function sendChat(event) {
  event.preventDefault();
  const input = document.getElementById("chat-input");
  const send = document.getElementById("chat-send");
  const errorBox = document.getElementById("chat-error");
  const content = input.value.trim();
  if (!content) return;
  clearError(errorBox);
  send.disabled = true;
  const turn = { role: "user", content };
  const shown = appendMessage("user", content);
  try {
    const body = await requestJson(CHAT_URL, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ messages: [...chatHistory.slice(-MAX_HISTORY), turn] }),
    });
    const reply = assistantText(body);
    // Only a turn that got an answer joins the history, so a retry does not send it twice.
    chatHistory.push(turn, { role: "assistant", content: reply });
    appendMessage("assistant", reply);
    input.value = "";
  } catch (err) {
    shown.remove(); // the text stays in the input box for a retry
    showError(errorBox, err);
  } finally {
    send.disabled = false;
    input.focus();
  }
}

// The header shows "Sign in", or the user's name and "Sign out"; nothing when sign-in is off.
function renderAuth() {
  const user = siteAuth.user();
  const enabled = siteAuth.enabled();
  document.getElementById("auth").hidden = !enabled;
  document.getElementById("sign-in").hidden = !enabled || user !== null;
  document.getElementById("sign-out").hidden = user === null;
  const name = document.getElementById("auth-user");
  name.textContent = user || "";
  name.hidden = user === null;
}

async function start() {
  siteAuth.onChange(renderAuth);
  const problem = await siteAuth.init();
  renderAuth();
  if (problem) showError(document.getElementById("auth-error"), problem);
  loadInfo();
}

document.getElementById("sign-in").addEventListener("click", () => {
  clearError(document.getElementById("auth-error"));
  siteAuth.signIn().catch((err) => showError(document.getElementById("auth-error"), err));
});
document.getElementById("sign-out").addEventListener("click", () => siteAuth.signOut());
document.getElementById("info-refresh").addEventListener("click", loadInfo);
document.getElementById("chat-form").addEventListener("submit", sendChat);
start();
