// The wrpc browser client: builds weeRPC request bodies and calls the
// functions of an echorpc (or Flask-RPC) instance. No dependencies; runs in
// current browsers and in Node 20+.

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
  /** Declares the call safe to repeat, so a failure on the way (network, 502, 503, 504) is retried. */
  idempotent?: boolean;
  /** How to retry idempotent calls; false never retries. */
  retry?: RetryOptions | false;
  /** With a batching client: false sends this call on its own. */
  batch?: boolean;
}

/** Bounds on retries: exponential backoff with full jitter. */
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
  /** Merge the calls made in the same tick into one request (the server must set MaxBatch). */
  batch?: boolean | { max?: number };
  /** Read the instance's manifest once, to learn which functions are idempotent. */
  manifest?: boolean;
}

/** A failed call: the server said ok:false, answered something that is not a weeRPC envelope, or could not be reached. */
export class WrpcError extends Error {
  /** The HTTP status; 0 when there was no reply (network failure, abort, timeout). */
  declare status: number;
  /** The envelope's data, if any. */
  declare data: unknown;
  /** The function called. */
  declare function: string;
  constructor(message: string, status: number, data: unknown, fn: string) {
    super(message);
    this.name = "WrpcError";
    this.status = status;
    this.data = data;
    this.function = fn;
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

interface Envelope {
  ok: boolean;
  message: string | null;
  data: unknown;
  status?: number;
}

function isEnvelope(x: any): x is Envelope {
  return x !== null && typeof x === "object" && typeof x.ok === "boolean" && ("weerpc" in x || "wrpc" in x);
}

function settle(fn: string, status: number, env: unknown): unknown {
  if (!isEnvelope(env)) {
    throw new WrpcError(`The reply is not a weeRPC envelope (HTTP ${status}).`, status, undefined, fn);
  }
  if (!env.ok) {
    throw new WrpcError(env.message || `HTTP ${status}`, env.status || status, env.data, fn);
  }
  return env.data;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// post sends one request body and returns the reply's status and parsed JSON
// (undefined when it is not JSON). Failures without a reply become WrpcError
// with status 0.
async function post(fn: string, body: string, o: CallOptions): Promise<[number, unknown]> {
  const endpoint = o.endpoint || defaultEndpoint;
  if (!endpoint) {
    throw new WrpcError("No endpoint: pass options.endpoint, or load the client from an instance.", 0, undefined, fn);
  }
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json", ...o.headers };
  const signals: AbortSignal[] = [];
  if (o.signal) signals.push(o.signal);
  if (o.timeout) {
    headers["Wrpc-Timeout-Ms"] = String(Math.max(1, Math.ceil(o.timeout)));
    signals.push(AbortSignal.timeout(o.timeout));
  }
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: "POST",
      headers,
      body,
      credentials: o.credentials || "same-origin",
      signal: signals.length > 1 ? anySignal(signals) : signals[0],
    });
  } catch (err: any) {
    const why = err && err.name === "TimeoutError" ? `timed out after ${o.timeout} ms` : err && err.name === "AbortError" ? "aborted" : `network error: ${err && err.message}`;
    throw new WrpcError(`Call to ${fn} ${why}.`, 0, undefined, fn);
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    // not JSON: settle reports it
  }
  return [res.status, json];
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

const retryable = (status: number) => status === 0 || status === 502 || status === 503 || status === 504;

/**
 * Calls fn with data. Resolves to the reply's data when ok is true; rejects
 * with a WrpcError when ok is false, when the reply is not an envelope, or
 * when the server could not be reached. An idempotent call is retried when
 * it fails on the way; any other call is sent once.
 */
export async function call<T = any>(fn: string, data?: unknown, options: CallOptions = {}): Promise<T> {
  const body = wrpc(fn, data, options.version);
  const r = options.retry === false || !options.idempotent ? { attempts: 1 } : options.retry || {};
  const attempts = r.attempts || 3, base = r.base || 100, max = r.max || 2000, maxElapsed = r.maxElapsed || 10000;
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    let status: number, json: unknown;
    try {
      [status, json] = await post(fn, body, options);
      if (!retryable(status) || isEnvelope(json) && json.ok) return settle(fn, status, json) as T;
    } catch (err) {
      if (!(err instanceof WrpcError) || (options.signal && options.signal.aborted)) throw err;
      status = 0;
      json = err;
    }
    const wait = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
    if (attempt >= attempts || Date.now() - start + wait > maxElapsed) {
      if (json instanceof WrpcError) throw json;
      return settle(fn, status, json) as T;
    }
    await sleep(wait);
  }
}

interface Pending {
  fn: string;
  body: string;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * Returns a client of the instance at endpoint. With batch, the calls made
 * in the same tick go in one request (calls with their own signal, timeout,
 * headers or endpoint, and calls with batch:false, go alone). With manifest,
 * the client reads which functions are idempotent before its first call.
 */
export function createClient<A = any>(endpoint: string, defaults: ClientOptions = {}): Client<A> {
  const { batch, manifest, ...base } = defaults;
  const maxBatch = (typeof batch === "object" && batch.max) || 10;
  let idempotent: Promise<Record<string, boolean>> | undefined;
  let queue: Pending[] = [];

  const flush = () => {
    const items = queue;
    queue = [];
    for (let i = 0; i < items.length; i += maxBatch) {
      send(items.slice(i, i + maxBatch));
    }
  };
  const send = async (chunk: Pending[]) => {
    try {
      const [status, json] = await post(chunk[0].fn, chunk.length === 1 ? chunk[0].body : `[${chunk.map((p) => p.body).join(",")}]`, { ...base, endpoint });
      chunk.forEach((p, i) => {
        try {
          p.resolve(settle(p.fn, status, chunk.length === 1 ? json : Array.isArray(json) ? json[i] : json));
        } catch (err) {
          p.reject(err);
        }
      });
    } catch (err) {
      chunk.forEach((p) => p.reject(err instanceof WrpcError ? new WrpcError(err.message, 0, undefined, p.fn) : err));
    }
  };

  return {
    endpoint,
    async call(fn: string, data: unknown, options: CallOptions = {}) {
      const o: CallOptions = { ...base, ...options, endpoint: options.endpoint || endpoint };
      if (manifest && o.idempotent === undefined) {
        idempotent ||= fetch(`${endpoint}/manifest.json`, { credentials: o.credentials || "same-origin" })
          .then((r) => r.json())
          .then((m: any) => Object.fromEntries((m.functions || []).map((f: any) => [f.name, !!f.idempotent])))
          .catch(() => ({}));
        o.idempotent = (await idempotent)[fn];
      }
      const alone = !batch || options.batch === false || options.signal || options.timeout || options.headers || options.endpoint;
      if (alone) return call(fn, data, o);
      return new Promise((resolve, reject) => {
        if (queue.push({ fn, body: wrpc(fn, data, o.version), resolve, reject }) === 1) queueMicrotask(flush);
      });
    },
  } as Client<A>;
}
