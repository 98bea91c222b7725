// How the client talks HTTP: one request and what came back (post, get),
// the retry loop of every call, single or batched (retrying), and the wait
// between tries (retryDelay). Nothing here throws for a failed request:
// a Reply says what happened, and settle (error.ts) turns it into a result
// or a WrpcError.
import type { CallOptions, RetryOptions } from "./wrpc.js";

/** What one request brought back. */
export interface Reply {
  /** The HTTP status; 0 when no reply came (then failure says why). */
  status: number;
  /** The JSON of the reply, parsed; undefined when there was none or it is not JSON. */
  body?: unknown;
  /** Why no reply came, as the end of a sentence "Call to fn ...": "timed out after 50 ms", "aborted", "network error: ...". */
  failure?: string;
  /** The wait that a 429 or 503 asked for with Retry-After, in ms. */
  retryAfter?: number;
  /** A stream that started (Content-Type text/event-stream): its response, whose body stream reads. */
  events?: Response;
  /** A stream that started on the shared connection (channel.ts): its events. */
  feed?: AsyncIterable<ServerEvent>;
}

/** One event of a stream: its type ("end", "error", or none for an item), its id, and its envelope, parsed. */
export interface ServerEvent {
  event: string | undefined;
  id?: string;
  body: unknown;
}

/** A weeRPC reply envelope (a batch's reply is an array of them, each with its status). */
export interface Envelope {
  ok: boolean;
  message?: string | null;
  data?: unknown;
  /** The HTTP status of one call in a batch, or of a stream's error event. */
  status?: number;
}

/** Whether x is a weeRPC envelope: an object with a boolean ok and the key "weerpc" (1.1) or "wrpc" (1.0). */
export function isEnvelope(x: unknown): x is Envelope {
  // only an object has a boolean ok
  return typeof (x as Envelope | undefined)?.ok == "boolean" && ("weerpc" in (x as Envelope) || "wrpc" in (x as Envelope));
}

/** The header that carries a description's hash both ways: the client's, and the server's when they differ (see CallOptions.description). */
export const skewHeader = "Wrpc-Description";

/** Tells options.onNewVersion of the server's hash, when a reply carried one (it does only when the client's is another). */
export function tellNewVersion(options: CallOptions, hash: string | null): void {
  if (hash) options.onNewVersion?.(hash);
}

let defaultEndpoint = "";

/** Sets the endpoint that calls without one use; the script build sets it to the instance that served it. */
export function setDefaultEndpoint(endpoint: string): void {
  defaultEndpoint = endpoint;
}

/** The endpoint of a call: its own, else the default one. */
export const endpointOf = (options: CallOptions): string => options.endpoint || defaultEndpoint;

/** POSTs body, a weeRPC request (one call, or a batch's array), to url. */
export const post = (url: string, body: string, options: CallOptions): Promise<Reply> => send(url, "POST", body, options);

/** GETs url: a manifest, or a query's function URL. */
export const get = (url: string, options: CallOptions): Promise<Reply> => send(url, "GET", undefined, options);

/**
 * Makes one request with the options' headers, credentials, signal and
 * timeout (sent as the server's deadline too), and returns what came back.
 * A string body is JSON; a FormData one (a call with files) gets its
 * multipart Content-Type from fetch.
 */
export async function send(url: string, method: "GET" | "POST", body: string | FormData | undefined, options: CallOptions): Promise<Reply> {
  if (!url) return { status: 0, failure: "has no endpoint (set options.endpoint)" };
  const { timeout } = options;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (typeof body == "string") headers["Content-Type"] = "application/json";
  if (timeout) headers["Wrpc-Timeout-Ms"] = String(Math.ceil(timeout)); // at least 1 for any timeout > 0
  if (options.description) headers[skewHeader] = options.description;
  Object.assign(headers, options.headers); // the caller's win
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body,
      credentials: options.credentials, // fetch's default is "same-origin"
      signal: timeout ? anySignal(options.signal, timeout) : options.signal,
    });
  } catch (err) {
    return { status: 0, failure: failureReason(err, timeout) };
  }
  const { status } = response;
  tellNewVersion(options, response.headers.get(skewHeader));
  if (response.headers.get("Content-Type")?.startsWith("text/event-stream")) return { status, events: response };
  // JSON that does not parse is undefined: settle reports it
  const json = await response.json().catch(() => undefined);
  return { status, body: json, retryAfter: retryAfter(status, response.headers.get("Retry-After")) };
}

/**
 * The headers of a request: Accept, Content-Type when json, Wrpc-Timeout-Ms
 * for a timeout, Wrpc-Description for a description, and then the options'
 * own, which win. These are the
 * headers send builds; send builds them inline, which keeps the plain-call
 * core (which has no use for this function) under its size budget.
 */
export function requestHeaders(options: CallOptions, json: boolean): Record<string, string> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (json) headers["Content-Type"] = "application/json";
  if (options.timeout) headers["Wrpc-Timeout-Ms"] = String(Math.ceil(options.timeout)); // at least 1 for any timeout > 0
  if (options.description) headers[skewHeader] = options.description;
  return Object.assign(headers, options.headers);
}

/**
 * Returns the wait that a 409, a 429 or a 503 asks for in its Retry-After value
 * (seconds, or an HTTP date), in ms; undefined when there is none, or when
 * it cannot be read or is past (then the backoff decides).
 */
export function retryAfter(status: number, value: string | null): number | undefined {
  if (!value || (status != 409 && status != 429 && status != 503)) return undefined;
  const seconds = Number(value);
  const ms = seconds >= 0 ? seconds * 1000 : Date.parse(value) - Date.now();
  return ms >= 0 ? ms : undefined;
}

/** Says why a fetch, or the read of its body, failed: "timed out after 50 ms", "aborted", "network error: ...". */
export function failureReason(err: unknown, timeout: number | undefined): string {
  const { name, message } = (err ?? {}) as Error;
  if (name == "TimeoutError") return `timed out after ${timeout} ms`;
  if (name == "AbortError") return "aborted";
  return `network error: ${message}`;
}

/**
 * Returns a signal that aborts when signal (if any) does, when timeout ms
 * (if any) have passed, and when other (if any) does. It uses
 * AbortSignal.any: Chrome 116+, Firefox 124+, Safari 17.4+, Node 20.3+.
 */
export function anySignal(signal: AbortSignal | undefined, timeout: number | undefined, other?: AbortSignal): AbortSignal {
  const signals = [signal, timeout ? AbortSignal.timeout(timeout) : undefined, other];
  return AbortSignal.any(signals.filter((s) => s !== undefined));
}

/** Statuses that say a request failed on the way, so that a try later may succeed (0: no reply came; 409: a keyed call still running, see keys.ts). */
const transient = [0, 409, 429, 502, 503, 504];

/**
 * Returns how long to wait, in ms, before the next try after reply, or -1
 * when there must be none. tries is how many tries were made (the one that
 * brought reply included), since the time the first of them started;
 * policy is the retry options, or false for no retries (a call that is not
 * idempotent, a stream without resume). There is no next try when reply is
 * not a failure on the way (it came with 200 or another final status, or it
 * is an ok envelope), when signal aborted, when policy.attempts tries were
 * made, and when the next one would start after policy.maxElapsed. The wait
 * is the server's Retry-After when it gave one, else exponential backoff
 * with full jitter (a random wait up to base·2^(tries-1), at most max); never
 * under 10 ms. Unset options take their defaults.
 */
export function retryDelay(reply: Reply, policy: RetryOptions | false | undefined, tries: number, since: number, signal?: AbortSignal): number {
  if (policy === false || signal?.aborted) return -1;
  if (!transient.includes(reply.status) || (isEnvelope(reply.body) && reply.body.ok)) return -1;
  const { attempts = 3, base = 100, max = 2000, maxElapsed = 10000 } = policy || {};
  if (tries >= attempts) return -1;
  const backoff = Math.random() * Math.min(max, base * 2 ** (tries - 1));
  const wait = Math.max(10, reply.retryAfter ?? backoff);
  if (Date.now() - since + wait > maxElapsed) return -1;
  return wait;
}

/** Resolves after ms. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one send-and-retry loop of every call, single or batched: it sends
 * with send, and sends again while retryDelay allows (only an idempotent
 * call is retried), and returns the last reply.
 */
export async function retrying(send: () => Promise<Reply>, options: CallOptions): Promise<Reply> {
  const policy = options.idempotent ? options.retry : false;
  const started = Date.now();
  for (let tries = 1; ; tries++) {
    const reply = await send();
    const wait = retryDelay(reply, policy, tries, started, options.signal);
    if (wait < 0) return reply;
    await sleep(wait);
  }
}
