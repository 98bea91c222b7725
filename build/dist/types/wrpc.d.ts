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
    batch?: boolean | {
        max?: number;
    };
    /** Read the instance's manifest once, to learn which functions are idempotent. */
    manifest?: boolean;
}
/** A failed call: the server said ok:false, answered something that is not a weeRPC envelope, or could not be reached. */
export declare class WrpcError extends Error {
    /** The HTTP status; 0 when there was no reply (network failure, abort, timeout). */
    status: number;
    /** The envelope's data, if any. */
    data: unknown;
    /** The function called. */
    function: string;
    constructor(message: string, status: number, data: unknown, fn: string);
}
/** An API description, as echorpc's TypeScript generator writes it: each function's input and output. */
export type API = Record<string, {
    input: unknown;
    output: unknown;
}>;
type Name<A> = Extract<keyof A, string>;
type Input<A, K> = K extends keyof A ? (A[K] extends {
    input: infer I;
} ? I : any) : any;
type Output<A, K> = K extends keyof A ? (A[K] extends {
    output: infer O;
} ? O : any) : any;
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
export declare function wrpc(fn: string, data?: unknown, version?: Version): string;
/** The same as wrpc, under the name Flask-RPC's JS library used. */
export declare const weerpc: typeof wrpc;
/** Sets the endpoint that calls without one use; the script build sets it to the instance that served it. */
export declare function setDefaultEndpoint(endpoint: string): void;
/**
 * Calls fn with data. Resolves to the reply's data when ok is true; rejects
 * with a WrpcError when ok is false, when the reply is not an envelope, or
 * when the server could not be reached. An idempotent call is retried when
 * it fails on the way; any other call is sent once.
 */
export declare function call<T = any>(fn: string, data?: unknown, options?: CallOptions): Promise<T>;
/**
 * Returns a client of the instance at endpoint. With batch, the calls made
 * in the same tick go in one request (calls with their own signal, timeout,
 * headers or endpoint, and calls with batch:false, go alone). With manifest,
 * the client reads which functions are idempotent before its first call.
 */
export declare function createClient<A = any>(endpoint: string, defaults?: ClientOptions): Client<A>;
export {};
