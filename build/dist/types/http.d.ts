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
export declare function isEnvelope(x: unknown): x is Envelope;
/** The header that carries a description's hash both ways: the client's, and the server's when they differ (see CallOptions.description). */
export declare const skewHeader = "Wrpc-Description";
/** Tells options.onNewVersion of the server's hash, when a reply carried one (it does only when the client's is another). */
export declare function tellNewVersion(options: CallOptions, hash: string | null): void;
/** Sets the endpoint that calls without one use; the script build sets it to the instance that served it. */
export declare function setDefaultEndpoint(endpoint: string): void;
/** The endpoint of a call: its own, else the default one. */
export declare const endpointOf: (options: CallOptions) => string;
/** POSTs body, a weeRPC request (one call, or a batch's array), to url. */
export declare const post: (url: string, body: string, options: CallOptions) => Promise<Reply>;
/** GETs url: a manifest, or a query's function URL. */
export declare const get: (url: string, options: CallOptions) => Promise<Reply>;
/**
 * Makes one request with the options' headers, credentials, signal and
 * timeout (sent as the server's deadline too), and returns what came back.
 * A string body is JSON; a FormData one (a call with files) gets its
 * multipart Content-Type from fetch.
 */
export declare function send(url: string, method: "GET" | "POST", body: string | FormData | undefined, options: CallOptions): Promise<Reply>;
/**
 * The headers of a request: Accept, Content-Type when json, Wrpc-Timeout-Ms
 * for a timeout, Wrpc-Description for a description, and then the options'
 * own, which win. These are the
 * headers send builds; send builds them inline, which keeps the plain-call
 * core (which has no use for this function) under its size budget.
 */
export declare function requestHeaders(options: CallOptions, json: boolean): Record<string, string>;
/**
 * Returns the wait that a 409, a 429 or a 503 asks for in its Retry-After value
 * (seconds, or an HTTP date), in ms; undefined when there is none, or when
 * it cannot be read or is past (then the backoff decides).
 */
export declare function retryAfter(status: number, value: string | null): number | undefined;
/** Says why a fetch, or the read of its body, failed: "timed out after 50 ms", "aborted", "network error: ...". */
export declare function failureReason(err: unknown, timeout: number | undefined): string;
/**
 * Returns a signal that aborts when signal (if any) does, when timeout ms
 * (if any) have passed, and when other (if any) does. It uses
 * AbortSignal.any: Chrome 116+, Firefox 124+, Safari 17.4+, Node 20.3+.
 */
export declare function anySignal(signal: AbortSignal | undefined, timeout: number | undefined, other?: AbortSignal): AbortSignal;
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
export declare function retryDelay(reply: Reply, policy: RetryOptions | false | undefined, tries: number, since: number, signal?: AbortSignal): number;
/** Resolves after ms. */
export declare const sleep: (ms: number) => Promise<unknown>;
/**
 * The one send-and-retry loop of every call, single or batched: it sends
 * with send, and sends again while retryDelay allows (only an idempotent
 * call is retried), and returns the last reply.
 */
export declare function retrying(send: () => Promise<Reply>, options: CallOptions): Promise<Reply>;
