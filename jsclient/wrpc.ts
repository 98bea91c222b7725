// The wrpc browser client: builds weeRPC request bodies and calls the
// functions of an echorpc (or Flask-RPC) instance. No dependencies; runs
// where AbortSignal.any does: Chrome 116+, Firefox 124+, Safari 17.4+ and
// Node 20.3+.
import { batcher, type Reply } from "./batch.js";

/** A weeRPC dialect: 1.1 (key "weerpc", the default) or 1.0 (key "wrpc"). */
export type Version = 1.1 | 1.0 | "1.1" | "1.0";

/** Options of one call; a client's defaults have the same shape. */
export interface CallOptions {
  /** The instance's URL. Default: the instance that served the script. */
  endpoint?: string;
  /** Aborts the call. */
  signal?: AbortSignal;
  /**
   * Milliseconds before the call is abandoned; also sent to the server as its
   * deadline. It (and every stream) uses AbortSignal.any, with no fallback:
   * Chrome 116+, Firefox 124+, Safari 17.4+, Node 20.3+.
   */
  timeout?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** fetch's credentials mode. Default "same-origin", so the session cookie goes along. */
  credentials?: RequestCredentials;
  /** The dialect. Default 1.1. */
  version?: Version;
  /** Declares the call safe to repeat, so a failure on the way (network, 429, 502, 503, 504) is retried. Default: the manifest's flag, else false. */
  idempotent?: boolean;
  /** How to retry idempotent calls; false never retries. */
  retry?: RetryOptions | false;
  /** With a batching client: false sends this call on its own. */
  batch?: boolean;
  /**
   * With a client that read the manifest (see ClientOptions.manifest), send
   * a call of a function that the manifest marks as a query (side-effect
   * free: echorpc.Query) as GET endpoint/fn?data=<URL-encoded JSON>, which
   * HTTP caches (the browser's, a CDN) can keep and revalidate (ETag, 304).
   * It falls back to POST when the URL would be longer than maxUrl, when the
   * name is not URL-safe (letters, digits, _ and -), when the manifest is
   * not loaded, and when the call is batched (a call that says get itself
   * goes alone). Default false. Calls without a client never use GET. Both
   * builds have it: the script (client.js) and the ES module (client.mjs,
   * the npm package).
   */
  get?: boolean;
  /** The longest URL (in characters, as built from the endpoint) that get uses; a longer call is POSTed. Default 2000. */
  maxUrl?: number;
}

/**
 * Bounds on retries: exponential backoff with full jitter, or the server's
 * Retry-After (seconds or an HTTP date) on 429 and 503; never under 10 ms.
 */
export interface RetryOptions {
  /** Tries in all, the first included. Default 3. */
  attempts?: number;
  /** The first backoff, in ms. Default 100. */
  base?: number;
  /** The longest backoff, in ms. Default 2000. */
  max?: number;
  /** No try starts after this many ms since the first. Default 10000. */
  maxElapsed?: number;
}

/** Options of one stream: a call's options, plus resume. */
export interface StreamOptions extends Omit<CallOptions, "idempotent" | "batch"> {
  /**
   * After a dropped connection (a network error, or a stream cut before its
   * end event; never after an error event), and when connecting fails on the
   * way (no reply, 429, 502, 503, 504), connect again with Last-Event-ID set
   * to the id of the last item received, waiting as retry says (its attempts
   * count the tries in a row that brought no item). The server's function
   * must go on after that id; items already yielded are not yielded again
   * by the client. Default false: a dropped stream throws.
   */
  resume?: boolean;
}

/** A client's options: call defaults, plus batching and the manifest. */
export interface ClientOptions extends Omit<CallOptions, "endpoint" | "batch"> {
  /** Merge the calls made in the same tick into one request of at most max calls (default 10). */
  batch?: boolean | { max?: number };
  /** Read the instance's manifest once, to learn which functions are idempotent or queries (see get) and the server's batch limit; see Client.ready. */
  manifest?: boolean;
}

/** One invalid field of a call's data, as the server's validation reports it in a 400's data.errors. */
export interface FieldError {
  /** Where in the data, dotted: "items.2.qty". */
  path: string;
  /** The rule that failed: "min", "required", ... */
  rule: string;
  /** The rule's parameter, if it has one: "1". */
  param?: string;
  /** What is wrong, for a person. */
  message: string;
}

/**
 * A failed call: the server said ok:false, answered something that is not a
 * weeRPC envelope (a JSON reply with a string message, like Echo's
 * {"message": "..."} errors, gives that message), or could not be reached.
 */
export class WrpcError extends Error {
  /** The HTTP status; 0 when there was no reply (network failure, abort, timeout). */
  declare status: number;
  /** The envelope's data, if any. */
  declare data: unknown;
  /** The function called ("" for a client's manifest). */
  declare function: string;
  /** The invalid fields of a 400 whose data is {errors: [...]}; empty otherwise. */
  declare readonly errors: FieldError[];
  constructor(message: string, status: number, data: unknown, fn: string) {
    super(message);
    const e = status == 400 && (data as any)?.errors;
    Object.assign(this, { name: "WrpcError", status, data, function: fn, errors: Array.isArray(e) ? e : [] });
  }
}

/** An API description, as echorpc's TypeScript generator writes it: each function's input and output, and stream: true for a streaming function (whose output is the type of its items). */
export type API = Record<string, { input: unknown; output: unknown; stream?: true }>;
type Name<A> = Extract<keyof A, string>;
/** The names of A's functions that can be called (not streams); any name for an untyped client (A = any). */
export type Calls<A> = 0 extends 1 & A ? string : { [K in Name<A>]: A[K] extends { stream: true } ? never : K }[Name<A>];
/** The names of A's streaming functions; any name for an untyped client. */
export type Streams<A> = 0 extends 1 & A ? string : { [K in Name<A>]: A[K] extends { stream: true } ? K : never }[Name<A>];
/** The data of A's function K (any for an untyped client). */
export type Input<A, K> = K extends keyof A ? (A[K] extends { input: infer I } ? I : any) : any;
/** The result of A's function K, or the type of its items for a stream (any for an untyped client). */
export type Output<A, K> = K extends keyof A ? (A[K] extends { output: infer O } ? O : any) : any;

/** A client of one instance; with a type argument, calls are type-checked. */
export interface Client<A = any> {
  readonly endpoint: string;
  /**
   * Settles when the client is ready for calls: at once without the manifest
   * option; with it, resolves once the manifest is read and rejects with a
   * WrpcError when it could not be (calls still go on, without it: see
   * createClient). The rejection is not reported as unhandled.
   */
  readonly ready: Promise<void>;
  /** Calls fn, as the function call does, with the client's options as defaults. A streaming function cannot be called. */
  call<K extends Calls<A>>(fn: K, data: Input<A, K>, options?: CallOptions): Promise<Output<A, K>>;
  /** Streams fn's items, as the function stream does, with the client's options as defaults. Only a streaming function can be streamed. */
  stream<K extends Streams<A>>(fn: K, data: Input<A, K>, options?: StreamOptions): AsyncGenerator<Output<A, K>, void, undefined>;
}

/**
 * Returns the weeRPC request body for a call of fn with data, as a string:
 * weeRPC 1.1 unless version is 1.0. This is Flask-RPC's JS helper, for
 * fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: wrpc(fn, data)}).
 */
export function wrpc(fn: string, data?: unknown, version: Version = 1.1): string {
  const v = "" + version;
  if (!/^1(\.[01])?$/.test(v)) throw new Error(`wrpc: unknown weeRPC version ${v} (use 1.1 or 1.0)`);
  return `{${v == "1.1" ? '"weerpc":1.1' : '"wrpc":1.0'},"function":${json(fn)},"data":${json(data)}}`;
}

// json is JSON.stringify, with null for undefined.
const json = (x: unknown) => JSON.stringify(x ?? null);

/** The same as wrpc, under the name Flask-RPC's JS library used. */
export const weerpc = wrpc;

let defaultEndpoint = "";

/** Sets the endpoint that calls without one use; the script build sets it to the instance that served it. */
export function setDefaultEndpoint(endpoint: string): void {
  defaultEndpoint = endpoint;
}

// settle turns one reply into the call's result, or throws its WrpcError.
function settle(fn: string, [status, x]: Reply): any {
  if (!status) throw new WrpcError(`Call to ${fn} ${x}.`, 0, undefined, fn);
  if (!(x && typeof x.ok == "boolean" && ("weerpc" in x || "wrpc" in x))) {
    throw new WrpcError(x && typeof x.message == "string" ? x.message : `The reply is not a weeRPC envelope (HTTP ${status}).`, status, undefined, fn);
  }
  if (!x.ok) throw new WrpcError(x.message || `HTTP ${status}`, x.status || status, x.data, fn);
  return x.data;
}

// post sends one request (a GET without body) and returns the reply. It
// never throws: a failure without a reply is status 0, with the reason.
async function post(url: string | undefined, body: string | undefined, o: CallOptions): Promise<Reply> {
  if (!url) return [0, "has no endpoint (set options.endpoint)"];
  const headers: Record<string, string> = { Accept: "application/json", ...(body && { "Content-Type": "application/json" }), ...o.headers };
  const t = o.timeout;
  if (t) headers["Wrpc-Timeout-Ms"] = "" + Math.ceil(t); // at least 1 for any timeout > 0
  let res: Response;
  try {
    res = await fetch(url, {
      method: body && "POST",
      headers,
      body,
      credentials: o.credentials, // fetch's default is "same-origin"
      signal: t ? anySignal(o.signal, t) : o.signal,
    });
  } catch (err) {
    return [0, why(err, o)];
  }
  const s = res.status, ra = res.headers.get("Retry-After");
  // a stream that started: its body is read by stream
  if (res.headers.get("Content-Type")?.startsWith("text/event-stream")) return [s, res];
  // JSON that does not parse is undefined: settle reports it
  return [s, await res.json().catch(() => {}), ra && (s == 429 || s == 503) ? (+ra >= 0 ? +ra * 1000 : Date.parse(ra) - Date.now()) : -1];
}

// why says why a fetch, or the read of its body, failed.
function why(err: any, o: CallOptions): string {
  const name = err?.name;
  return name == "TimeoutError" ? `timed out after ${o.timeout} ms` : name == "AbortError" ? "aborted" : `network error: ${err?.message}`;
}

// anySignal aborts when signal (if any) does, when the timeout of t ms (if
// any) runs out, or when another does: AbortSignal.any, so the client needs
// Chrome 116+, Firefox 124+, Safari 17.4+ or Node 20.3+.
const anySignal = (signal: AbortSignal | undefined, t: number | undefined, other?: AbortSignal) =>
  AbortSignal.any([signal, t && AbortSignal.timeout(t), other].filter(Boolean) as AbortSignal[]);

// run is the one send-and-retry loop of every call, single or batched: it
// sends the call with send, and sends it again while the reply is a failure
// on the way (no reply, 429, 502, 503, 504), the call is idempotent, and the
// retry policy allows. The wait is Retry-After when a 429 or 503 gives it,
// else exponential backoff with full jitter; never under 10 ms.
async function run(fn: string, o: CallOptions, send: () => Promise<Reply>): Promise<any> {
  for (let attempt = 1, start = Date.now(); ; attempt++) {
    const reply = await send();
    const wait = backoff(o, o.idempotent, reply, attempt, start);
    if (wait < 0) return settle(fn, reply);
    await sleep(wait);
  }
}

// backoff returns how long to wait before trying again after reply, the
// attempt-th try since start, or -1 when it must not be tried again: it is
// not a failure on the way, the caller does not allow (may, retry), or the
// retry policy's bounds are reached.
function backoff(o: CallOptions, may: unknown, [status, json, after]: Reply, attempt: number, start: number): number {
  const r: RetryOptions = (may && o.retry) || {};
  const wait = Math.max(10, after >= 0 ? after : Math.random() * Math.min(r.max || 2000, (r.base || 100) * 2 ** (attempt - 1)));
  return !may ||
    o.retry === false ||
    attempt >= (r.attempts || 3) ||
    ![0, 429, 502, 503, 504].includes(status) ||
    json?.ok ||
    o.signal?.aborted ||
    Date.now() - start + wait > (r.maxElapsed || 10000)
    ? -1
    : wait;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls fn with data. Resolves to the reply's data when ok is true; rejects
 * with a WrpcError when ok is false, when the reply is not an envelope, or
 * when the server could not be reached. An idempotent call is retried when
 * it fails on the way; any other call is sent once.
 */
export async function call<T = any>(fn: string, data?: unknown, options: CallOptions = {}): Promise<T> {
  const body = wrpc(fn, data, options.version);
  return run(fn, options, () => post(options.endpoint || defaultEndpoint, body, options));
}

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
 * the loop is left (break, return, a throw) and when signal aborts (then it
 * throws a WrpcError with status 0, as a call does). timeout bounds the whole
 * stream, and the server gets what is left of it (Wrpc-Timeout-Ms) on each
 * connection (so a deadline ends with the server's 504 error event, or with
 * the client's own status-0 "timed out" if that fires first). Headers,
 * credentials, endpoint and version are as for a call; see StreamOptions for
 * resume. An event's data is read as one line, as echorpc writes it; data
 * that is not JSON counts as a broken connection. A stream needs
 * AbortSignal.any (Chrome 116+, Firefox 124+, Safari 17.4+, Node 20.3+).
 */
export async function* stream<T = any>(fn: string, data?: unknown, options: StreamOptions = {}): AsyncGenerator<T, void, undefined> {
  const { timeout, resume } = options, body = wrpc(fn, data, options.version), start = Date.now(), c = new AbortController();
  const signal = anySignal(options.signal, timeout, c.signal);
  let last: string | undefined, t0 = start;
  try {
    for (let tries = 1; ; tries++) {
      const o: StreamOptions = {
        ...options,
        signal,
        timeout: timeout && Math.max(1, timeout - Date.now() + start), // what is left
        headers: { ...options.headers, Accept: "text/event-stream", ...(last && { "Last-Event-ID": last }) },
      };
      let reply = await post(options.endpoint || defaultEndpoint, body, o);
      const res = reply[1];
      if (res instanceof Response) {
        // read the events: lines of "field: value"; an empty line ends one
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "", ev: Record<string, string> = {};
        try {
          for (let r; !(r = await reader.read()).done; ) {
            const all = (buf + r.value).split(/\r?\n/);
            buf = all.pop()!;
            for (const line of all) {
              const [, field, v] = /^([^:]*):? ?(.*)/.exec(line)!;
              if (line) ev[field] = v; // data: one line (echorpc writes one), as do event and id
              else {
                if (ev.data) {
                  // an error event throws here (data that is not JSON counts as a broken connection)
                  const item = settle(fn, [200, JSON.parse(ev.data)]);
                  if (ev.event == "end") return;
                  last = ev.id ?? last;
                  tries = 1;
                  t0 = Date.now();
                  yield item;
                }
                ev = {};
              }
            }
          }
          reply = [0, "was cut off"];
        } catch (err) {
          if (err instanceof WrpcError) throw err;
          reply = [0, why(err, options)];
        }
      }
      const wait = backoff(o, resume, reply, tries, t0);
      if (wait < 0) {
        // a failure throws; a function that does not stream gives its result as the one item
        yield settle(fn, reply);
        return;
      }
      await sleep(wait);
    }
  } finally {
    c.abort();
  }
}

// at is the URL of name under endpoint, with endpoint's query: /rpc/?a=1#x
// and f give /rpc/f?a=1.
const at = (endpoint: string, name: string) => endpoint.replace(/\/?(\?[^#]*)?(#.*)?$/, "/" + name + "$1");

/**
 * Returns a client of the instance at endpoint.
 *
 * With batch, the calls made in the same tick go in one request of at most
 * batch.max calls (default 10; the manifest's maxBatch lowers it, and 0 there
 * turns batching off). A server that refuses the batch whole, because it has
 * batching off (400) or a lower limit (413), gets the calls again one by one,
 * and the client keeps to what it learnt. Calls with their own signal,
 * timeout, headers, credentials or endpoint, and calls with batch:false, go
 * alone. Batched calls are retried like single ones.
 *
 * With manifest, the client GETs endpoint/manifest.json at once, with its
 * headers and credentials, to learn which functions are idempotent or
 * queries and the server's maxBatch; calls wait for it. With get too, the
 * calls of queries that go alone are GETs (see CallOptions.get).
 * If that fails, client.ready rejects with a WrpcError (status 0 without a
 * reply) and the client goes on without the manifest: only calls that say
 * idempotent:true are retried, batches keep the client's own maximum (with
 * the 400/413 fallback above), and every call is a POST.
 */
export function createClient<A = any>(endpoint: string, defaults: ClientOptions = {}): Client<A> {
  const { batch, manifest, ...base } = defaults;
  const o0: CallOptions = { ...base, endpoint };
  const b = batcher((body) => post(endpoint, body, o0), batch ? (batch as { max?: number }).max || 10 : 1);
  // the manifest's functions, by name
  const fns: Record<string, { idempotent?: boolean; query?: boolean }> = {};
  const url = at(endpoint, "manifest.json");
  const ready = manifest
    ? post(url, undefined, o0).then(([status, m]) => {
        if (status != 200 || !Array.isArray(m?.functions)) {
          throw new WrpcError(`No manifest at ${url} (${status ? "HTTP " + status : m}).`, status, m, "");
        }
        for (const f of m.functions) fns[f.name] = f;
        if (m.maxBatch != null) b.max = Math.min(b.max, m.maxBatch || 1);
      })
    : Promise.resolve();
  const loaded = ready.catch(() => {});
  const client: Client<A> = {
    endpoint,
    ready,
    async call(fn: string, data: unknown, options: CallOptions = {}): Promise<any> {
      await loaded;
      const o: CallOptions = { ...o0, ...options };
      o.idempotent ??= fns[fn]?.idempotent;
      const body = wrpc(fn, data, o.version);
      const { signal, timeout, headers, credentials } = options;
      if (options.batch === false || signal || timeout || headers || credentials || options.endpoint || options.get || b.max < 2) {
        // alone: a query by GET when asked (endpoint/fn?data=..., with the
        // endpoint's query), if its URL is short enough
        const url = o.endpoint || endpoint;
        let u = (o.get && fns[fn]?.query && /^[\w-]+$/.test(fn) && at(url, fn)) as string; // or falsy: no GET
        u &&= u + (/\?/.test(u) ? "&" : "?") + "data=" + encodeURIComponent(json(data));
        const get = u && u.length <= (o.maxUrl || 2000);
        return run(fn, o, () => post(get ? u : url, get ? undefined : body, o));
      }
      return run(fn, o, () => b.add(body));
    },
    stream: (fn: string, data: unknown, options?: StreamOptions): AsyncGenerator<any, void, undefined> => stream(fn, data, { ...o0, ...options }),
  };
  return client;
}
