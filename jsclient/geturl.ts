// GET for queries: the URL that a client's call of a query goes to, when
// it goes as a GET (see CallOptions.get). An add-on (see addons.ts): a
// bundle of the core alone POSTs every call.
import { urlUnder } from "./endpoint.js";
import type { CallOptions } from "./wrpc.js";

/**
 * Returns the URL that GETs a call of fn with data (url/fn?data=<JSON>,
 * with url's query), or undefined when the call is POSTed: get is off, the
 * manifest (query, the function's flag there) does not mark fn as a query,
 * fn's name is not URL-safe (letters, digits, _ and -), or the URL would be
 * longer than maxUrl (default 2000).
 */
export function queryURL(url: string, fn: string, data: unknown, options: CallOptions, query: boolean | undefined): string | undefined {
  if (!options.get || !query || !/^[\w-]+$/.test(fn)) return undefined;
  const path = urlUnder(url, fn);
  const full = path + (path.includes("?") ? "&" : "?") + "data=" + encodeURIComponent(JSON.stringify(data ?? null));
  return full.length <= (options.maxUrl || 2000) ? full : undefined;
}
