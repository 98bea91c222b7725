import { type ServerEvent } from "./http.js";
import { type StreamOptions } from "./wrpc.js";
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
export declare function stream<T = any>(fn: string, data?: unknown, options?: StreamOptions): AsyncGenerator<T, void, undefined>;
export declare function events(response: Response): AsyncGenerator<ServerEvent>;
