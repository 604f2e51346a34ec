// api.js — the studio's one door to `sky run --control` (docs/control.md).
// The token comes from the URL fragment (#token=…), which browsers never send
// to the server; it goes out as a Bearer header on fetches and as ?token= on
// WebSocket upgrades, since a browser cannot set headers on those.

const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
const token = fragment.get("token");

export function fragmentOption(name) {
  return fragment.get(name);
}

// An error from the API, carrying the reply's JSON (diagnostics, status…).
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// One request; resolves to the parsed JSON reply, throws ApiError otherwise.
export async function request(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const reply = await fetch(path, init);
  let json = null;
  try {
    json = await reply.json();
  } catch {
    json = null;
  }
  if (!reply.ok) throw new ApiError(reply.status, json);
  return json;
}

function socketUrl(path, query = {}) {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  if (token) url.searchParams.set("token", token);
  return url.href;
}

// A WebSocket that reconnects after a close, waiting longer after each
// failure (0.5 s doubling to 8 s) so a stopped show is not hammered.
// onOpen/onMessage/onStatus are called for every connection.
export function keepOpen(path, query, { binary = false, onMessage, onStatus }) {
  let delay = 500;
  let socket = null;
  let stopped = false;
  const connect = () => {
    socket = new WebSocket(socketUrl(path, query()));
    if (binary) socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      delay = 500;
      onStatus?.("open");
    };
    socket.onmessage = (m) => onMessage(m.data);
    socket.onclose = () => {
      onStatus?.("closed");
      if (stopped) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 8000);
    };
  };
  connect();
  return {
    // Reconnect now, e.g. after the query (the frame rate) changed.
    restart() {
      delay = 500;
      socket?.close();
    },
    stop() {
      stopped = true;
      socket?.close();
    },
  };
}

// The events stream: calls handlers[event.event](event) for each message.
export function subscribeEvents(handlers, onStatus) {
  return keepOpen("api/events", () => ({}), {
    onStatus,
    onMessage(text) {
      let event;
      try {
        event = JSON.parse(text);
      } catch {
        return;
      }
      handlers[event.event]?.(event);
    },
  });
}

// Decodes one /api/frames message: {frame, leds, channels, rgb}.
export function decodeFrame(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 16) return null;
  const frame = Number(view.getBigUint64(0, true));
  const leds = view.getUint32(8, true);
  const channels = view.getUint32(12, true);
  if (channels < 3 || 16 + leds * channels > buffer.byteLength) return null;
  return { frame, leds, channels, rgb: new Uint8Array(buffer, 16, leds * channels) };
}
