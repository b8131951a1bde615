// The studio's only way to the server: the API key in the Authorization header, errors
// turned into plain sentences, media fetched as blobs (a <video> cannot send the header).

const KEY_SLOT = "reelforge.apiKey";

export class ApiError extends Error {
  constructor(status, message, code = null) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY_SLOT); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY_SLOT, value);
    else sessionStorage.removeItem(KEY_SLOT);
  },
};

// API paths are written "/v1/..."; they resolve against the page, so the studio also works
// behind a proxy that serves ReelForge under a path prefix.
const resolve = (path) => new URL(path.replace(/^\//, ""), document.baseURI);

function headers(extra = {}) {
  return { Authorization: `Bearer ${session.key}`, ...extra };
}

// What the server said, as a sentence a person can act on.
export function plainWords(status, body) {
  const said = body?.error?.message ?? body?.detail ?? null;
  if (status === 401) return `Your API key was not accepted: ${said ?? "sign in again"}.`;
  if (status === 403) return said ?? "This API key may not do that.";
  if (status === 404) return said ?? "Not found: it may have been deleted.";
  if (status === 413) return "That upload is too large (16 MB at most).";
  if (status === 429) return `${said ?? "Too many requests"}. Wait a moment and try again.`;
  if (status >= 500) return `The server had a problem (${status}): ${said ?? "try again shortly"}.`;
  return said ?? `The request failed (HTTP ${status}).`;
}

async function send(method, path, { json, form, idempotencyKey, signal } = {}) {
  const extra = {};
  let body;
  if (json !== undefined) {
    extra["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (idempotencyKey) extra["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(resolve(path), { method, headers: headers(extra), body, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "Cannot reach the ReelForge server. Check that it is running and try again.");
  }
  return response;
}

async function answer(response) {
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!response.ok) {
    throw new ApiError(response.status, plainWords(response.status, body), body?.error?.code ?? null);
  }
  return body;
}

export async function call(method, path, options) {
  return answer(await send(method, path, options));
}

// A media file as an object URL (the caller revokes it when done).
export async function mediaUrl(path, signal) {
  const response = await send("GET", path, { signal });
  if (!response.ok) await answer(response);
  return URL.createObjectURL(await response.blob());
}

export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Server-Sent Events over fetch (EventSource cannot send the Authorization header).
// Calls onEvent(type, data) per event; resolves when the stream ends.
export async function streamEvents(path, onEvent, signal, lastEventId = null) {
  const extra = { Accept: "text/event-stream" };
  if (lastEventId) extra["Last-Event-ID"] = lastEventId;
  const response = await fetch(resolve(path), { headers: headers(extra), signal });
  if (!response.ok) await answer(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let lastId = lastEventId;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return lastId;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseBlock(block);
      if (event.id) lastId = event.id;
      if (event.data !== null) onEvent(event.type, JSON.parse(event.data));
    }
  }
}

function parseBlock(block) {
  const event = { type: "message", data: null, id: null };
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event.type = value;
    else if (field === "data") data.push(value);
    else if (field === "id") event.id = value;
  }
  if (data.length) event.data = data.join("\n");
  return event;
}
