// Streams: a call of a streaming function read as server-sent events, with
// reconnects (resume) that share one backoff and one retry budget.
import type * as channel from "./channel.js";
import { urlUnder } from "./endpoint.js";
import { settle, WrpcError } from "./error.js";
import { anySignal, endpointOf, failureReason, post, retryDelay, type Reply, type ServerEvent } from "./http.js";
import { wrpc, type StreamOptions } from "./wrpc.js";

// A stream goes on the endpoint's shared connection where there is one:
// see channel.ts, a chunk that the instance serves (channel.mjs), loaded on
// the page's first stream and kept (as import() keeps a module, or its
// failure, by URL). Where there is none (an instance that does not offer
// it, or Node, whose import() takes no http: URL), or the chunk says it
// cannot carry the stream (undefined), each try is a request of its own.
// The chunk's URL resolves as import() resolves it, against the client's own
// URL: a full or an absolute-path endpoint ("/rpc") finds it; with one
// relative to the page's URL, streams go as requests of their own.

// stableAfter is how long (ms) a connection of a resumed stream must stay
// up for its drop to start the retry budget afresh (see
// StreamOptions.resume): until then, the reconnects of one stream count as
// tries in a row, whatever items they brought, so a server that cuts the
// stream after every item is retried with a growing backoff and given up
// after retry.attempts, not reconnected at once forever.
const stableAfter = 5000;

/**
 * Streams fn's items: calls the streaming function fn with data (a POST
 * with Accept: text/event-stream) and returns an async iterable of the
 * items, in order, as they come:
 *
 *     for await (const n of stream("countdown", 3)) console.log(n); // 3, 2, 1
 *
 * It ends at the server's end event. It throws a WrpcError when the stream
 * cannot start (the reply's status, as for a call: 400 with its errors, 401,
 * 404, 406 for a function that does not stream, 503...), at an error event
 * (its message, data, and the status the envelope carries: 504 for a
 * deadline, 503 for a server shutting down, 500 for a handler error), and,
 * without resume, when the stream is cut before its end (status 0). A
 * function that does not stream but answers anyway (a server that ignores
 * the Accept header) gives its result as the one item.
 *
 * It stops, and aborts the request so that the server's function ends, when
 * the loop is left (break, return, a throw) and when signal aborts: then the
 * loop ends quietly, as after the end event. timeout bounds the whole
 * stream, and the server gets what is left of it (Wrpc-Timeout-Ms) on each
 * connection; it throws, as a call's does (the server's 504 error event, or
 * the client's own status-0 "timed out" if that fires first). Headers,
 * credentials, endpoint and version are as for a call; see StreamOptions for
 * resume. An event's data is read as one line, as echorpc writes it; data
 * that is not JSON counts as a broken connection. A stream needs
 * AbortSignal.any (Chrome 116+, Firefox 124+, Safari 17.4+, Node 20.3+).
 */
export async function* stream<T = any>(fn: string, data?: unknown, options: StreamOptions = {}): AsyncGenerator<T, void, undefined> {
  const { timeout } = options;
  const body = wrpc(fn, data, options.version);
  const url = endpointOf(options);
  const started = Date.now();
  const stop = new AbortController(); // aborted when the loop is left
  const signal = anySignal(options.signal, timeout, stop.signal);
  const policy = options.resume ? options.retry : false;
  let lastId: string | undefined;
  // the retry budget that the reconnects share: the tries in a row, and when the first began
  let tries = 0;
  let since = started;
  try {
    for (;;) {
      if (options.signal?.aborted) return; // the caller stopped the stream
      tries++;
      const headers: Record<string, string> = { ...options.headers, Accept: "text/event-stream" };
      if (lastId !== undefined) headers["Last-Event-ID"] = lastId;
      // the server's deadline is what is left of the timeout (signal has the timeout itself)
      const left = timeout && Math.max(1, Math.ceil(timeout - (Date.now() - started)));
      if (left) headers["Wrpc-Timeout-Ms"] = String(left);
      // on the shared connection, else (undefined) as a request of its own
      let reply: Reply =
        (await import(urlUnder(url, "channel.mjs")).then((chunk: typeof channel) => chunk.open(body, lastId, left, signal, options), () => {})) ||
        (await post(url, body, { ...options, signal, headers }));
      const feed = reply.feed || (reply.events && events(reply.events));
      if (feed) {
        const connected = Date.now();
        try {
          for await (const event of feed) {
            // an error event throws here
            const item = settle(fn, { status: 200, body: event.body });
            if (event.event == "end") return;
            lastId = event.id ?? lastId;
            yield item;
          }
          reply = { status: 0, failure: "was cut off" };
        } catch (err) {
          if (err instanceof WrpcError) throw err;
          // a broken connection, or data that is not JSON
          reply = { status: 0, failure: failureReason(err, timeout) };
        }
        if (Date.now() - connected >= stableAfter) {
          tries = 1;
          since = Date.now();
        }
      }
      if (options.signal?.aborted) return;
      const wait = retryDelay(reply, policy, tries, since, signal);
      if (wait < 0) {
        // a failure throws; a function that does not stream gives its result as the one item
        yield settle(fn, reply);
        return;
      }
      await pause(wait, signal);
    }
  } finally {
    stop.abort();
  }
}

// pause resolves after ms, or as soon as signal aborts.
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

// events reads the server-sent events of response's body (a stream's, or
// a streamed batch's: see batch.ts): lines of "field: value", each event
// ended by an empty line, its data one line of JSON, as echorpc writes it.
// Events without data (pings are comments, ": ping") are skipped.
export async function* events(response: Response): AsyncGenerator<ServerEvent> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let pending = ""; // the text after the last line break
  let fields: Record<string, string | undefined> = {};
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    const lines = (pending + value).split(/\r?\n/);
    pending = lines.pop()!;
    for (const line of lines) {
      if (line) {
        const [, field, text] = /^([^:]*):? ?(.*)/.exec(line)!;
        fields[field] = text;
        continue;
      }
      if (fields.data) yield { event: fields.event, id: fields.id, body: JSON.parse(fields.data) };
      fields = {};
    }
  }
}
