// The wrpc browser client: builds weeRPC request bodies and calls the
// functions of an echorpc (or Flask-RPC) instance. No dependencies; runs
// where AbortSignal.any does: Chrome 116+, Firefox 124+, Safari 17.4+ and
// Node 20.3+. This file is the plain-call API (wrpc, call, createClient)
// and the types; stream.ts reads streams, http.ts sends requests and
// retries, batch.ts batches, files.ts uploads and downloads files, error.ts
// settles replies.
import { addOns } from "./addons.js";
import type { Batcher } from "./batch.js";
import type { Download, Progress } from "./files.js";
import { urlUnder } from "./endpoint.js";
import { settle, WrpcError } from "./error.js";
import { endpointOf, get, post, retrying } from "./http.js";

export { WrpcError, type FieldError } from "./error.js";
export { setDefaultEndpoint } from "./http.js";
export type { Download, Progress } from "./files.js";

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
  /** Extra request headers; they are sent as given, over the client's own (Accept, Content-Type, Wrpc-Timeout-Ms). */
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
  /** A call whose data holds a File or a Blob (sent as multipart/form-data): told of the bytes sent, where XMLHttpRequest is (browsers); not in Node. */
  onUploadProgress?: (progress: Progress) => void;
  /** A download (see Client.download): told of the bytes received. */
  onDownloadProgress?: (progress: Progress) => void;
  /**
   * The hash of the description of the functions that the page was built or
   * loaded with, sent in the Wrpc-Description header, so that the server can
   * tell when its functions changed since (a deploy). Default: with a client
   * that reads the manifest, the manifest's hash.
   */
  description?: string;
  /**
   * Told, with the server's hash, of every reply that says the server's
   * functions are no longer those of description: the page is older than the
   * server, and may offer a reload before a call fails.
   */
  onNewVersion?: (hash: string) => void;
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
export interface StreamOptions extends Omit<CallOptions, "idempotent" | "batch" | "onUploadProgress" | "onDownloadProgress"> {
  /**
   * After a dropped connection (a network error, or a stream cut before its
   * end event; never after an error event), and when connecting fails on the
   * way (no reply, 429, 502, 503, 504), connect again with Last-Event-ID set
   * to the id of the last item received, waiting as retry says. The
   * reconnects of one stream share one backoff and one budget, whatever
   * items they bring: retry.attempts and retry.maxElapsed count the tries
   * since the stream last stayed up for 5 seconds (a connection that stays
   * up that long starts them afresh when it drops), and the wait grows with
   * each of them. So a server that cuts the stream after every item gets a
   * few reconnects, further and further apart, and then the stream throws.
   * The server's function must go on after that id; items already yielded
   * are not yielded again by the client. Default false: a dropped stream
   * throws.
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
  /** Calls fn, a function that answers with a file, as the function download does, with the client's options as defaults: the file as a Blob with its name. */
  download<K extends Calls<A>>(fn: K, data: Input<A, K>, options?: CallOptions): Promise<Download>;
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

/**
 * Calls fn with data. Resolves to the reply's data when ok is true; rejects
 * with a WrpcError when ok is false, when the reply is not an envelope, or
 * when the server could not be reached. An idempotent call is retried when
 * it fails on the way; any other call is sent once. Data that holds a File
 * or a Blob is sent as multipart/form-data (see files.ts).
 */
export async function call<T = any>(fn: string, data?: unknown, options: CallOptions = {}): Promise<T> {
  const url = endpointOf(options);
  const body = wrpc(fn, data, options.version);
  const upload = addOns.upload?.(url, fn, data, options);
  const reply = await retrying(upload || (() => post(url, body, options)), options);
  return settle(fn, reply);
}

// What a client learns from the manifest: each function's flags, and the
// server's batch limit (0: batching off).
interface Manifest {
  functions: { name: string; idempotent?: boolean; query?: boolean }[];
  maxBatch?: number;
  hash?: string;
}

// The options a batch cannot carry for one of its calls: a call that has
// one of them goes alone.
const ownOptions = ["signal", "timeout", "headers", "credentials", "endpoint"] as const;

/**
 * Returns a client of the instance at endpoint.
 *
 * With batch, the calls made in the same tick go in one request of at most
 * batch.max calls (default 10; the manifest's maxBatch lowers it, and 0 there
 * turns batching off). A server that refuses the batch whole and says its
 * limit in the reply's data ({"maxBatch": N}: 413 for a batch over its
 * limit, 400 with 0 for an instance with batching off) gets the calls again,
 * in batches of N or one by one, and the client keeps to that limit. Calls
 * with their own signal, timeout, headers, credentials or endpoint, and
 * calls with batch:false, go alone. Batched calls are retried like single
 * ones. A call whose data holds a File or a Blob goes alone, as
 * multipart/form-data.
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
  const { batch, manifest, ...callDefaults } = defaults;
  const base: CallOptions = { ...callDefaults, endpoint };
  // batching is an add-on (see addons.ts); batch.max defaults to 10
  const maxBatch = (batch !== true && batch && batch.max) || 10;
  const batches: Batcher | undefined = batch && addOns.batcher ? addOns.batcher(endpoint, base, maxBatch) : undefined;
  const functions: Record<string, Manifest["functions"][number]> = {};

  async function readManifest(): Promise<void> {
    const url = urlUnder(endpoint, "manifest.json");
    const reply = await get(url, base);
    const m = reply.body as Manifest | undefined;
    if (reply.status != 200 || !Array.isArray(m?.functions)) {
      const why = reply.status ? `HTTP ${reply.status}` : reply.failure;
      throw new WrpcError(`No manifest at ${url} (${why}).`, reply.status, reply.body, "");
    }
    for (const f of m.functions) functions[f.name] = f;
    base.description ??= m.hash;
    if (typeof m.maxBatch == "number") batches?.lower(m.maxBatch);
  }
  const ready = manifest ? readManifest() : Promise.resolve();
  const loaded = ready.catch(() => {}); // calls wait for the manifest, and go on without it

  return {
    endpoint,
    ready,
    async call(fn: string, data: unknown, options: CallOptions = {}): Promise<any> {
      await loaded;
      const o: CallOptions = { ...base, ...options };
      o.idempotent ??= functions[fn]?.idempotent;
      const body = wrpc(fn, data, o.version);
      const url = o.endpoint || endpoint;
      const upload = addOns.upload?.(url, fn, data, o);
      const alone = upload || options.batch === false || options.get || ownOptions.some((name) => options[name]);
      if (batches && batches.max > 1 && !alone) return settle(fn, await retrying(() => batches.add(body), o));
      // GET for queries is an add-on (see addons.ts)
      const getURL = addOns.queryURL?.(url, fn, data, o, functions[fn]?.query);
      const reply = await retrying(upload || (() => (getURL ? get(getURL, o) : post(url, body, o))), o);
      return settle(fn, reply);
    },
    stream(fn: string, data: unknown, options?: StreamOptions): AsyncGenerator<any, void, undefined> {
      // an add-on, which both builds hold (see addons.ts)
      return addOns.stream!(fn, data, { ...base, ...options });
    },
    download(fn: string, data: unknown, options?: CallOptions): Promise<Download> {
      return addOns.download!(fn, data, { ...base, ...options });
    },
  };
}
