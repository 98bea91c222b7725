// How an endpoint (an instance's URL, as the caller wrote it) names the
// instance and the URLs under it.

// The end of an endpoint that does not name the instance: the trailing
// slashes of its path, then its query (kept, as $1) and its fragment.
const tail = /\/*(\?[^#]*)?(#.*)?$/;

/** Returns the URL of name (a function, or manifest.json) under endpoint, with endpoint's query: "/rpc/?a=1#top" and "f" give "/rpc/f?a=1". */
export const urlUnder = (endpoint: string, name: string): string => endpoint.replace(tail, "/" + name + "$1");

/** Returns endpoint without trailing slashes on its path and without its fragment: "/rpc/?a=1#top", "/rpc?a=1" and "/rpc//?a=1" give "/rpc?a=1". */
export const instanceOf = (endpoint: string): string => endpoint.replace(tail, "$1");
