import { type Reply } from "./http.js";
import type { StreamOptions } from "./wrpc.js";
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
export declare function open(body: string, lastEventId: string | undefined, timeout: number | undefined, signal: AbortSignal, options: StreamOptions): Promise<Reply | undefined>;
