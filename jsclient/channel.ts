// The shared stream connection: one WebSocket per instance (its
// channel.ws) that carries every stream the page opens on it, each an id
// within it, so that a page's live views do not each take one of the six
// HTTP/1.1 connections that a browser allows per origin. This is a chunk of
// its own, channel.mjs, which the instance serves and stream.ts loads on the
// page's first stream (one module, and so one connection, per instance).
// The messages are described in echorpc/channel.go.
//
// open does what one try of stream.ts's loop does with a POST: it starts a
// stream and resolves to what came back, the stream's events or its reply.
// It resolves to undefined when there is no connection to be had (the
// page's first WebSocket did not open): that try, and every one for the
// next 30 s, goes as its own request instead. A connection that drops ends
// each of its streams as a broken connection does (and so does one that
// does not open, once one has): stream.ts resumes each, with its last event
// id, on a new one.
import { failureReason, type Reply, type ServerEvent } from "./http.js";
import type { StreamOptions } from "./wrpc.js";

// the channel's URL: this module's, with ws: or wss:, .ws for .mjs and batch=1
const url = new URL(import.meta.url);
url.protocol = url.protocol == "https:" ? "wss:" : "ws:";
url.pathname = url.pathname.replace(/\.mjs$/, ".ws");
url.searchParams.set("batch", "1"); // the instance may send several messages in one, as an array

/** How long (ms) streams go as requests of their own after a connection failed to open. */
const offAfterFailure = 30000;
/** How long (ms) a connection with no stream stays open. */
const idleClose = 5000;

/** A message of the instance: one stream's reply, start, item or end. */
interface Message {
  id: number;
  status?: number;
  reply?: unknown;
  retryAfter?: number;
  /** The connection holds all the streams it may: this one goes as a request of its own. */
  full?: boolean;
  start?: true;
  eventId?: string;
  envelope?: unknown;
  end?: unknown;
}

/** An open stream of the connection: what its messages, and a drop, do. */
interface Open {
  message(m: Message): void;
  drop(): void;
}

let socket: Promise<WebSocket | undefined> | undefined; // the connection, opening or open
let opened = false; // a connection opened once: then one that does not open is a dropped one
let failedAt = -Infinity; // when the first connection failed to open
let lastId = 0;
let idle: ReturnType<typeof setTimeout> | undefined;
const streams = new Map<number, Open>();

// connect returns the open connection, opening it if there is none;
// undefined if it does not open.
function connect(): Promise<WebSocket | undefined> {
  return (socket ??= new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.onopen = () => {
      opened = true;
      resolve(ws);
    };
    ws.onmessage = (e) => {
      const m: Message | Message[] = JSON.parse(e.data);
      for (const one of Array.isArray(m) ? m : [m]) streams.get(one.id)?.message(one);
    };
    ws.onclose = () => {
      socket = undefined;
      if (!opened) failedAt = Date.now();
      resolve(undefined); // if it never opened
      for (const s of [...streams.values()]) s.drop();
    };
  }));
}

/**
 * Opens a stream on the shared connection: body is the call (a weeRPC
 * request), lastEventId the id to resume after, timeout what is left of
 * the stream's (the server's deadline) and signal ends it. Resolves to the
 * stream's events (status 200, feed), its reply when it did not start, a
 * status-0 reply when the connection dropped first, or undefined when there
 * is no connection to be had, when the connection holds all the streams it
 * may (the server's Config.MaxChannelStreams), and for a stream with
 * headers of its own or without credentials (options), which a WebSocket
 * cannot carry.
 */
export async function open(body: string, lastEventId: string | undefined, timeout: number | undefined, signal: AbortSignal, options: StreamOptions): Promise<Reply | undefined> {
  if (options.headers || options.credentials == "omit" || Date.now() - failedAt < offAfterFailure) return undefined;
  const ws = await connect();
  // once a connection has opened, one that does not is a drop, retried as a stream's own would be
  if (!ws) return opened ? { status: 0, failure: "network error: the connection did not open" } : undefined;
  const id = ++lastId;
  const events = feed();
  clearTimeout(idle);
  return new Promise((resolve) => {
    // forget ends the stream here; the last one to go closes the connection after a while
    const forget = () => {
      signal.removeEventListener("abort", abort);
      streams.delete(id);
      if (!streams.size) idle = setTimeout(() => ws.close(), idleClose);
    };
    const abort = () => {
      if (ws.readyState == WebSocket.OPEN) ws.send(`{"close":${id}}`);
      forget();
      resolve({ status: 0, failure: failureReason(signal.reason, timeout) });
      events.fail(signal.reason);
    };
    streams.set(id, {
      message(m) {
        if (m.reply !== undefined) {
          forget();
          resolve(m.full ? undefined : { status: m.status!, body: m.reply, retryAfter: m.retryAfter && m.retryAfter * 1000 });
          return;
        }
        resolve({ status: 200, feed: events.read() }); // the first message that is not a reply starts it
        if (m.end !== undefined) {
          forget();
          events.push({ event: "end", body: m.end });
        } else if (m.eventId !== undefined) {
          events.push({ event: undefined, id: m.eventId, body: m.envelope });
        }
      },
      drop() {
        forget();
        resolve({ status: 0, failure: "network error: the connection closed" });
        events.fail(new Error("the connection closed"));
      },
    });
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort);
    ws.send(JSON.stringify({ open: id, lastEventId, timeout }).slice(0, -1) + `,"call":${body}}`);
  });
}

// feed is a stream's events as they come: push adds one, fail ends them
// with an error once those already pushed are read.
function feed() {
  const queue: ServerEvent[] = [];
  let wake = () => {};
  let error: unknown;
  return {
    push(event: ServerEvent) {
      queue.push(event);
      wake();
    },
    fail(err: unknown) {
      error ??= err;
      wake();
    },
    async *read(): AsyncGenerator<ServerEvent> {
      for (;;) {
        if (queue.length) yield queue.shift()!;
        else if (error) throw error;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
