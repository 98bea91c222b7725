// The wrpc browser client: builds weeRPC request bodies and calls the
// functions of an echorpc (or Flask-RPC) instance. No dependencies; runs in
// current browsers and in Node 20+.
import { batcher, type Reply } from "./batch.js";

/** A weeRPC dialect: 1.1 (key "weerpc", the default) or 1.0 (key "wrpc"). */
export type Version = 1.1 | 1.0 | "1.1" | "1.0";

/** Options of one call; a client's defaults have the same shape. */
export interface CallOptions {
  /** The instance's URL. Default: the instance that served the script. */
  endpoint?: string;
  /** Aborts the call. */
  signal?: AbortSignal;
  /** Milliseconds before the call is abandoned; also sent to the server as its deadline. */
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

/** A client's options: call defaults, plus batching and the manifest. */
export interface ClientOptions extends Omit<CallOptions, "endpoint" | "batch"> {
  /** Merge the calls made in the same tick into one request of at most max calls (default 10). */
  batch?: boolean | { max?: number };
  /** Read the instance's manifest once, to learn which functions are idempotent and the server's batch limit; see Client.ready. */
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
    this.name = "WrpcError";
    this.status = status;
    this.data = data;
    this.function = fn;
    const e = status == 400 && (data as any)?.errors;
    this.errors = Array.isArray(e) ? e : [];
  }
}

/** An API description, as echorpc's TypeScript generator writes it: each function's input and output. */
export type API = Record<string, { input: unknown; output: unknown }>;
type Name<A> = Extract<keyof A, string>;
type Input<A, K> = K extends keyof A ? (A[K] extends { input: infer I } ? I : any) : any;
type Output<A, K> = K extends keyof A ? (A[K] extends { output: infer O } ? O : any) : any;

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
  call<K extends Name<A>>(fn: K, data: Input<A, K>, options?: CallOptions): Promise<Output<A, K>>;
}

/**
 * Returns the weeRPC request body for a call of fn with data, as a string:
 * weeRPC 1.1 unless version is 1.0. This is Flask-RPC's JS helper, for
 * fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: wrpc(fn, data)}).
 */
export function wrpc(fn: string, data?: unknown, version: Version = 1.1): string {
  const v = String(version);
  if (v !== "1.1" && v !== "1" && v !== "1.0") {
    throw new Error(`wrpc: unknown weeRPC version ${v} (use 1.1 or 1.0)`);
  }
  const body = `"function":${JSON.stringify(fn)},"data":${JSON.stringify(data === undefined ? null : data)}}`;
  return v === "1.1" ? `{"weerpc":1.1,${body}` : `{"wrpc":1.0,${body}`;
}

/** The same as wrpc, under the name Flask-RPC's JS library used. */
export const weerpc = wrpc;

let defaultEndpoint = "";

/** Sets the endpoint that calls without one use; the script build sets it to the instance that served it. */
export function setDefaultEndpoint(endpoint: string): void {
  defaultEndpoint = endpoint;
}

// settle turns one reply into the call's result, or throws its WrpcError.
function settle(fn: string, [status, x]: Reply): unknown {
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
  const signals: AbortSignal[] = [];
  if (o.signal) signals.push(o.signal);
  if (o.timeout) {
    headers["Wrpc-Timeout-Ms"] = "" + Math.ceil(o.timeout); // at least 1 for any timeout > 0
    signals.push(AbortSignal.timeout(o.timeout));
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: body && "POST",
      headers,
      body,
      credentials: o.credentials, // fetch's default is "same-origin"
      signal: signals[1] ? anySignal(signals) : signals[0],
    });
  } catch (err: any) {
    const name = err?.name;
    return [0, name == "TimeoutError" ? `timed out after ${o.timeout} ms` : name == "AbortError" ? "aborted" : `network error: ${err?.message}`];
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    // not JSON: settle reports it
  }
  const s = res.status, ra = res.headers.get("Retry-After");
  return [s, json, ra && (s == 429 || s == 503) ? (isNaN(+ra) ? Date.parse(ra) - Date.now() : +ra * 1000) : -1];
}

// anySignal aborts when any of signals does (AbortSignal.any where it exists).
function anySignal(signals: AbortSignal[]): AbortSignal {
  const any = (AbortSignal as any).any;
  if (any) return any(signals);
  const c = new AbortController();
  for (const s of signals) {
    if (s.aborted) c.abort(s.reason);
    s.addEventListener("abort", () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}

// run is the one send-and-retry loop of every call, single or batched: it
// sends body with send, and sends it again while the reply is a failure on
// the way (no reply, 429, 502, 503, 504), the call is idempotent, and the
// retry policy allows. The wait is Retry-After when a 429 or 503 gives it,
// else exponential backoff with full jitter; never under 10 ms.
async function run(fn: string, body: string, o: CallOptions, send: (body: string) => Promise<Reply>): Promise<any> {
  const r = (o.idempotent && o.retry) || {};
  const attempts = o.idempotent && o.retry !== false ? r.attempts || 3 : 1;
  const base = r.base || 100, max = r.max || 2000, maxElapsed = r.maxElapsed || 10000, start = Date.now();
  for (let attempt = 1; ; attempt++) {
    const reply = await send(body);
    const [status, json, after] = reply;
    const wait = Math.max(10, after >= 0 ? after : Math.random() * Math.min(max, base * 2 ** (attempt - 1)));
    if (
      attempt >= attempts ||
      ![0, 429, 502, 503, 504].includes(status) ||
      json?.ok ||
      o.signal?.aborted ||
      Date.now() - start + wait > maxElapsed
    ) {
      return settle(fn, reply);
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Calls fn with data. Resolves to the reply's data when ok is true; rejects
 * with a WrpcError when ok is false, when the reply is not an envelope, or
 * when the server could not be reached. An idempotent call is retried when
 * it fails on the way; any other call is sent once.
 */
export async function call<T = any>(fn: string, data?: unknown, options: CallOptions = {}): Promise<T> {
  return run(fn, wrpc(fn, data, options.version), options, (body) => post(options.endpoint || defaultEndpoint, body, options));
}

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
 * headers and credentials, to learn which functions are idempotent and the
 * server's maxBatch; calls wait for it. If that fails, client.ready rejects
 * with a WrpcError (status 0 without a reply) and the client goes on without
 * the manifest: only calls that say idempotent:true are retried, and batches
 * keep the client's own maximum (with the 400/413 fallback above).
 */
export function createClient<A = any>(endpoint: string, defaults: ClientOptions = {}): Client<A> {
  const { batch, manifest, ...base } = defaults;
  const o0: CallOptions = { ...base, endpoint };
  const b = batcher((body) => post(endpoint, body, o0), batch ? (batch === true ? 10 : batch.max || 10) : 1);
  const idempotent: Record<string, boolean> = {};
  // endpoint/manifest.json, with endpoint's query: /rpc/?a=1#x is /rpc/manifest.json?a=1
  const url = endpoint.replace(/\/?(\?[^#]*)?(#.*)?$/, "/manifest.json$1");
  const ready = manifest
    ? post(url, undefined, o0).then(([status, m]) => {
        if (status != 200 || !Array.isArray(m?.functions)) {
          throw new WrpcError(`No manifest at ${url} (${status ? "HTTP " + status : m}).`, status, m, "");
        }
        for (const f of m.functions) idempotent[f.name] = f.idempotent;
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
      o.idempotent ??= idempotent[fn];
      const body = wrpc(fn, data, o.version);
      const { signal, timeout, headers, credentials } = options;
      if (options.batch === false || signal || timeout || headers || credentials || options.endpoint) {
        return run(fn, body, o, (body) => post(o.endpoint || endpoint, body, o));
      }
      return run(fn, body, o, b.add);
    },
  };
  return client;
}
