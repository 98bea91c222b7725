import type { CallOptions } from "./wrpc.js";
/**
 * Returns the URL that GETs a call of fn with data (url/fn?data=<JSON>,
 * with url's query), or undefined when the call is POSTed: get is off, the
 * manifest (query, the function's flag there) does not mark fn as a query,
 * fn's name is not URL-safe (letters, digits, _ and -), or the URL would be
 * longer than maxUrl (default 2000).
 */
export declare function queryURL(url: string, fn: string, data: unknown, options: CallOptions, query: boolean | undefined): string | undefined;
