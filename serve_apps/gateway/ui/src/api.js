// The gateway's REST + SSE API, same origin. The bearer token lives in sessionStorage (this tab
// only, gone when it closes) and travels in the Authorization header only, never in a URL:
// that is why the event stream is read with fetch() instead of EventSource.

const KEY = "fleet.token";

// The UI is served at <root>/ui/ where <root> may carry a route prefix.
export const root = window.location.pathname.replace(/\/ui(\/[^/]*)?$/, "");

export const getToken = () => sessionStorage.getItem(KEY) || "";
export const setToken = (t) => (t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY));

export class ApiError extends Error {
  constructor(status, body) {
    const msg = (body && body.message) || (typeof body === "string" && body) || `HTTP ${status}`;
    super(msg);
    this.status = status;
    this.body = body;
  }
}

const auth = () => ({ Authorization: `Bearer ${getToken()}` });

export async function api(path, { method = "GET", body, accept } = {}) {
  const headers = auth();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (accept) headers.Accept = accept;
  const r = await fetch(root + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

function parseFrame(text) {
  const f = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const i = line.indexOf(":");
    if (i < 0) continue;
    f[line.slice(0, i)] = line.slice(i + 1).replace(/^ /, "");
  }
  return f;
}

// Follow a story's events: the history, then live ones until story.done. Reconnects with
// Last-Event-ID after a dropped stream; a 4xx (unknown story, bad token) ends it with an error.
export async function streamEvents(storyId, onEvent, signal, onError) {
  let last = "0";
  while (!signal.aborted) {
    try {
      const r = await fetch(`${root}/stories/${encodeURIComponent(storyId)}/events`, {
        headers: { ...auth(), Accept: "text/event-stream", "Last-Event-ID": last },
        signal,
        cache: "no-store",
      });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        throw new ApiError(r.status, body);
      }
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const f = parseFrame(buf.slice(0, i));
          buf = buf.slice(i + 2);
          if (!f.id || !f.data) continue;
          last = f.id;
          const ev = JSON.parse(f.data);
          onEvent(f.id, ev);
          if (ev.type === "story.done") return;
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status < 500) {
        onError && onError(e);
        return;
      }
    }
    await sleep(1500);
  }
}
